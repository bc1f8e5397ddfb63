import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { TestClientProvider } from '../auth/clientProvider.js';
import { ERAS, readAudit, type Era } from '../support/harness.js';

/**
 * `pingone-helpdesk-mcp --sandbox --http` as a person starts it: the built
 * binary, its URL and issuer read from its start-up line, and the official SDK
 * client finding its own way from the first 401 to a token — Protected
 * Resource Metadata, authorization server metadata, dynamic client
 * registration, authorization code with PKCE S256 (the browser step done by
 * fetch: the sandbox consents on its own), token — then calling tools as the
 * operator it signed in as.
 */
const BIN = resolve(import.meta.dirname, '../../dist/index.js');

interface StartupLine {
  url: string;
  oauthIssuer: string;
  msg: string;
}

/** Records the authorization request the client built, then lets the base class follow it. */
class RecordingProvider extends TestClientProvider {
  authorizeUrl: URL | undefined;
  override async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizeUrl = new URL(url);
    return super.redirectToAuthorization(url);
  }
}

describe.each(ERAS)('the built binary with --sandbox --http, %s-era client completing the OAuth flow', (era: Era) => {
  let child: ChildProcess;
  let stderr = '';
  let startup: StartupLine;
  let auditPath = '';
  const clients: Client[] = [];
  const clientOptions = era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' as const } } } : {};

  beforeAll(async () => {
    auditPath = join(mkdtempSync(join(tmpdir(), 'p1mcp-oauth-e2e-')), 'audit.jsonl');
    child = spawn(process.execPath, [BIN, '--sandbox', '--http'], {
      env: { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'p1mcp-home-')), PINGONE_MCP_HTTP_PORT: '0', PINGONE_MCP_AUDIT_LOG: auditPath, PINGONE_MCP_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    startup = await new Promise<StartupLine>((found, fail) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        const line = stderr.split('\n').find((candidate) => candidate.includes('serving MCP over HTTP'));
        if (line !== undefined) found(JSON.parse(line) as StartupLine);
      });
      child.once('exit', (code) => fail(new Error(`exited ${code} before listening: ${stderr.slice(0, 800)}`)));
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    child.kill('SIGTERM');
  });

  /** Signs in through the whole flow as `loginHint` and returns a connected client and what the flow did. */
  async function signIn(loginHint: string) {
    const seen: Array<{ method: string; url: string; status: number; challenge: string | null }> = [];
    const recording = (async (input: string | URL | Request, init?: RequestInit) => {
      const response = await fetch(input, init);
      const url = input instanceof Request ? input.url : String(input);
      seen.push({ method: init?.method ?? (input instanceof Request ? input.method : 'GET'), url, status: response.status, challenge: response.headers.get('www-authenticate') });
      return response;
    }) as typeof fetch;
    const provider = new RecordingProvider(loginHint);
    const endpoint = new URL(startup.url);
    const first = new Client({ name: 'oauth-e2e', version: '1.0.0' }, clientOptions);
    await expect(first.connect(new StreamableHTTPClientTransport(endpoint, { authProvider: provider, fetch: recording }))).rejects.toBeInstanceOf(UnauthorizedError);
    const callback = provider.callback;
    const code = callback?.searchParams.get('code');
    if (callback === undefined || !code) throw new Error(`no authorization code: ${callback?.href}`);
    const transport = new StreamableHTTPClientTransport(endpoint, { authProvider: provider, fetch: recording });
    await transport.finishAuth(code, callback.searchParams.get('iss') ?? undefined);
    const client = new Client({ name: 'oauth-e2e', version: '1.0.0' }, { ...clientOptions, capabilities: { elicitation: { form: {} } } });
    const asked: string[] = [];
    client.setRequestHandler('elicitation/create', (request) => {
      asked.push(request.params.message);
      return { action: 'accept', content: { confirm: true } };
    });
    await client.connect(transport);
    clients.push(client);
    return { client, provider, seen, asked };
  }

  it('logs one start-up line with the bound URL, the issuer and how to pick an operator', () => {
    expect(new URL(startup.url).hostname).toBe('127.0.0.1');
    expect(Number(new URL(startup.url).port)).toBeGreaterThan(0);
    expect(new URL(startup.oauthIssuer).hostname).toBe('127.0.0.1');
    expect(startup.msg).toContain(startup.oauthIssuer);
    expect(startup.msg).toMatch(/bsmith \(read and write\) or ops1 \(read only\) with login_hint/);
    expect(startup.msg).toContain('PINGONE_MCP_SANDBOX_OPERATOR');
    expect(stderr.split('\n').filter((line) => line.includes(startup.oauthIssuer))).toHaveLength(1);
  });

  it('as ops1 (read only): discovery from the 401, registration, PKCE S256, token; then tools/list and find_user', async () => {
    const { client, provider, seen } = await signIn('ops1');
    const refused = seen.find((entry) => entry.status === 401);
    expect(refused?.url).toBe(startup.url);
    expect(refused?.challenge).toBe(`Bearer resource_metadata="${new URL('/.well-known/oauth-protected-resource/mcp', startup.url).href}", scope="helpdesk:read"`);
    const path = (entry: { url: string }) => new URL(entry.url).pathname;
    const steps = seen.map((entry) => `${entry.method} ${new URL(entry.url).origin === startup.oauthIssuer ? 'AS' : 'RS'} ${path(entry)} ${entry.status}`);
    expect(steps).toEqual(
      expect.arrayContaining([
        'GET RS /.well-known/oauth-protected-resource/mcp 200',
        'GET AS /.well-known/oauth-authorization-server 200',
        'POST AS /register 201',
        'POST AS /token 200',
      ]),
    );
    expect(provider.authorizeUrl?.origin).toBe(startup.oauthIssuer);
    expect(provider.authorizeUrl?.searchParams.get('code_challenge_method')).toBe('S256');
    expect(provider.authorizeUrl?.searchParams.get('resource')).toBe(startup.url);
    expect(provider.tokens()?.scope).toBe('helpdesk:read');

    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toContain('find_user');
    const found = await client.callTool({ name: 'find_user', arguments: { query: 'jdoe' } });
    expect((found.structuredContent as Record<string, unknown>).outcome).toBe('found');
  });

  it('as bsmith (read and write): unlocks jdoe, asked first, audited', async () => {
    const { client, provider, asked } = await signIn('bsmith');
    expect(provider.tokens()?.scope?.split(' ').sort()).toEqual(['helpdesk:read', 'helpdesk:write']);
    const result = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-42' } });
    expect((result.structuredContent as Record<string, unknown>).outcome).toBe('unlocked');
    expect(asked).toEqual([expect.stringMatching(/^Unlock the account "jdoe"/)]);
    const outcomes = readAudit(auditPath).filter((record) => record.phase === 'outcome' && record.tool === 'unlock_user');
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'unlocked' })]);
    expect(JSON.stringify(outcomes)).toContain(DEMO_USERS.jdoe.id);
  });

  it('still refuses a request without a token, and never logs one', async () => {
    const response = await fetch(startup.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    expect(response.status).toBe(401);
    expect(stderr).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});
