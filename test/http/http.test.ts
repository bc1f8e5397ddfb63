import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport, type ElicitRequest } from '@modelcontextprotocol/client';
import { requireScopes } from '@modelcontextprotocol/server';
import { Agent, fetch as undiciFetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { ERAS } from '../support/harness.js';
import { httpHarnessPerTest, rawRequest, READ_SCOPE, structuredOf, WRITE_SCOPE } from './support.js';

const start = httpHarnessPerTest();

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe.each(ERAS)('MCP over Streamable HTTP, %s-era client', (era) => {
  it('lists the tools and unlocks a user against the emulator, audited once', async () => {
    const harness = await start();
    const client = await harness.connect({ era });
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(['find_user', 'list_user_devices', 'unblock_device', 'unlock_device', 'unlock_user']);
    const result = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-1' } });
    expect(structuredOf(result).outcome).toBe('unlocked');
    expect(harness.emulator.getUser(DEMO_USERS.jdoe.id)?.account?.status).not.toBe('LOCKED');
    const outcomes = harness.audit().filter((record) => record.phase === 'outcome');
    expect(outcomes).toEqual([expect.objectContaining({ tool: 'unlock_user', outcome: 'unlocked', auditId: structuredOf(result).auditId })]);
    // The client's own name reaches the trail: over sessions (2025) from initialize, per request (2026).
    expect(outcomes[0]?.actor.client).toBe('http-test-client/1.0.0');
  });

  it('asks the person before a write and proceeds on accept', async () => {
    const harness = await start();
    const asked: Array<ElicitRequest['params']> = [];
    const client = await harness.connect({
      era,
      answer: (params) => {
        asked.push(params);
        return { action: 'accept', content: { confirm: true } };
      },
    });
    const result = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-2' } });
    expect(asked).toHaveLength(1);
    expect(asked[0]?.message).toMatch(/^Unlock the account "jdoe" \(name "Jane Doe", user ID /);
    expect(structuredOf(result).outcome).toBe('unlocked');
    expect(harness.audit().map((record) => record.phase)).toEqual(['asked', 'intent', 'outcome']);
  });

  it('writes nothing when the person declines', async () => {
    const harness = await start();
    const client = await harness.connect({ era, answer: () => ({ action: 'decline' }) });
    const result = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe' } });
    expect(structuredOf(result)).toMatchObject({ outcome: 'denied', error: { code: 'NOT_CONFIRMED' } });
    expect(harness.emulator.requests.filter((r) => r.method === 'POST' && r.route !== 'token')).toHaveLength(0);
  });
});

describe('2025-era sessions', () => {
  it('gives each client its own session and forgets an unknown one', async () => {
    const harness = await start();
    const first = await fetch(harness.url, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) });
    const second = await fetch(harness.url, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) });
    await Promise.all([first.text(), second.text()]);
    const ids = [first.headers.get('mcp-session-id'), second.headers.get('mcp-session-id')];
    expect(ids.every((id) => id !== null && id.length >= 32)).toBe(true);
    expect(ids[0]).not.toBe(ids[1]);
    expect(harness.service.sessionCount).toBe(2);
    const stale = await fetch(harness.url, { method: 'POST', headers: { ...MCP_HEADERS, 'mcp-session-id': 'not-a-session' }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
    expect(stale.status).toBe(404);
  });

  it('refuses a new session beyond PINGONE_MCP_HTTP_MAX_SESSIONS with 503', async () => {
    const harness = await start({ env: { PINGONE_MCP_HTTP_MAX_SESSIONS: '1' } });
    const first = await fetch(harness.url, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) });
    await first.text();
    expect(first.status).toBe(200);
    const second = await fetch(harness.url, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) });
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('30');
  });
});

describe('the bearer gate (tenant OAuth, real signed tokens)', () => {
  it('answers 401 with a challenge naming the metadata and scope, and serves that metadata', async () => {
    const harness = await start({ oauth: {} });
    const response = await fetch(harness.url, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) });
    expect(response.status).toBe(401);
    const metadataUrl = `${harness.url.origin}/.well-known/oauth-protected-resource/mcp`;
    expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl}", scope="${READ_SCOPE}"`);
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const document = await (await fetch(new URL(path, harness.url))).json();
      expect(document).toMatchObject({ resource: harness.url.href, authorization_servers: [harness.oauth!.idp.issuer], scopes_supported: [READ_SCOPE, WRITE_SCOPE] });
    }
    const preflight = await fetch(new URL('/.well-known/oauth-protected-resource/mcp', harness.url), { method: 'OPTIONS' });
    expect([preflight.status, preflight.headers.get('access-control-allow-origin')]).toEqual([204, '*']);
    expect((await fetch(new URL('/.well-known/oauth-protected-resource', harness.url), { method: 'POST' })).status).toBe(405);
  });

  it('answers a token that allows nothing here with 403 insufficient_scope, and accepts one with the read scope', async () => {
    const harness = await start({ oauth: {} });
    const send = (token: string) => fetch(harness.url, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: JSON.stringify(INITIALIZE) });
    const noScope = await send(await harness.oauth!.token({ scope: 'openid profile' }));
    expect(noScope.status).toBe(403);
    expect(noScope.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    const ok = await send(await harness.oauth!.token());
    await ok.text();
    expect(ok.status).toBe(200);
  });

  it.each(ERAS)('lets a %s-era client with a valid token call tools', async (era) => {
    const harness = await start({ oauth: {} });
    const client = await harness.connect({ era, token: await harness.oauth!.token() });
    const result = await client.callTool({ name: 'find_user', arguments: { query: 'jdoe' } });
    expect(structuredOf(result).outcome).toBe('found');
  });

  it.each(ERAS)('hands the verified AuthInfo to the server factory and to tool handlers (%s era)', async (era) => {
    const factorySaw: Array<unknown> = [];
    const harness = await start({
      oauth: {},
      decorate: (server, ctx) => {
        factorySaw.push(ctx.authInfo?.extra?.subject);
        server.registerTool('whoami', { description: 'Test probe: the caller as the handler sees it.' }, (ctx2) => ({
          content: [{ type: 'text', text: JSON.stringify({ subject: ctx2.http?.authInfo?.extra?.subject, displayName: ctx2.http?.authInfo?.extra?.displayName, scopes: ctx2.http?.authInfo?.scopes }) }],
        }));
      },
    });
    const client = await harness.connect({ era, token: await harness.oauth!.token({ subject: DEMO_USERS.bsmith.id, claims: { preferred_username: 'bsmith' } }) });
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    expect(JSON.parse((result.content as Array<{ text: string }>)[0]!.text)).toEqual({ subject: DEMO_USERS.bsmith.id, displayName: 'bsmith', scopes: [READ_SCOPE] });
    expect(factorySaw.length).toBeGreaterThan(0);
    expect(factorySaw.every((subject) => subject === DEMO_USERS.bsmith.id)).toBe(true);
  });

  it.each(ERAS)('answers a tool that declares a scope challenge with 403 insufficient_scope at the HTTP layer (%s era)', async (era) => {
    const harness = await start({
      oauth: {},
      decorate: (server) => {
        server.registerTool('needs_write', { description: 'Test probe needing the write scope.', scopeChallenge: requireScopes(WRITE_SCOPE) }, () => ({ content: [{ type: 'text', text: 'done' }] }));
      },
    });
    const reader = await harness.oauth!.token();
    const challenges: Array<{ status: number; challenge: string | null }> = [];
    const recording = (async (input: string | URL | Request, init?: RequestInit) => {
      const response = await fetch(input, init);
      if (response.status === 403) challenges.push({ status: response.status, challenge: response.headers.get('www-authenticate') });
      return response;
    }) as typeof fetch;
    const client = new Client({ name: 'scope-test', version: '1.0.0' }, era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {});
    await client.connect(new StreamableHTTPClientTransport(harness.url, { fetch: recording, authProvider: { token: async () => reader } }));
    await expect(client.callTool({ name: 'needs_write', arguments: {} })).rejects.toThrow();
    await client.close();
    expect(challenges.length).toBeGreaterThan(0);
    expect(challenges[0]?.challenge).toContain('error="insufficient_scope"');
    expect(challenges[0]?.challenge).toContain(`scope="${WRITE_SCOPE}"`);
    expect(challenges[0]?.challenge).toContain(`resource_metadata="${harness.url.origin}/.well-known/oauth-protected-resource/mcp"`);
  });

  it('binds a 2025 session to the verified operator: another one presenting its id is told it does not exist, a fresh token of the same one is not', async () => {
    const harness = await start({ oauth: {} });
    const alice = await harness.oauth!.token({ subject: DEMO_USERS.bsmith.id });
    const opened = await fetch(harness.url, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${alice}` }, body: JSON.stringify(INITIALIZE) });
    await opened.text();
    const sessionId = opened.headers.get('mcp-session-id') ?? '';
    expect(sessionId).not.toBe('');
    const list = (token: string) =>
      fetch(harness.url, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      });
    expect((await list(await harness.oauth!.token({ subject: DEMO_USERS.ops1.id }))).status).toBe(404);
    const same = await list(await harness.oauth!.token({ subject: DEMO_USERS.bsmith.id, claims: { jti: 'refreshed' } }));
    await same.text();
    expect(same.status).toBe(200);
  });
});

describe('the HTTP surface', () => {
  it('refuses a foreign Host and a foreign Origin (DNS rebinding), accepts loopback ones', async () => {
    const harness = await start();
    const post = (headers: Record<string, string>) => rawRequest(harness.url, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(INITIALIZE) });
    expect((await post({ host: `evil.example:${harness.url.port}` })).status).toBe(403);
    expect((await post({ origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ origin: 'null' })).status).toBe(403);
    expect(harness.service.sessionCount).toBe(0);
    expect((await post({ host: `localhost:${harness.url.port}`, origin: `http://localhost:${harness.url.port}` })).status).toBe(200);
  });

  it('accepts the public host of PINGONE_MCP_RESOURCE as Host', async () => {
    const harness = await start({ oauth: { resourceUrl: () => 'https://helpdesk-mcp.example/mcp' } });
    const token = await harness.oauth!.token();
    const post = (host: string) => rawRequest(harness.url, { method: 'POST', headers: { ...MCP_HEADERS, host, authorization: `Bearer ${token}` }, body: JSON.stringify(INITIALIZE) });
    expect((await post('helpdesk-mcp.example')).status).toBe(200);
    expect((await post('other.example')).status).toBe(403);
  });

  it('answers 413 to a body over 1 MiB without serving it', async () => {
    const harness = await start();
    const big = JSON.stringify({ ...INITIALIZE, params: { ...INITIALIZE.params, padding: 'x'.repeat(1024 * 1024 + 10) } });
    const response = await fetch(harness.url, { method: 'POST', headers: MCP_HEADERS, body: big });
    expect(response.status).toBe(413);
    expect(harness.service.sessionCount).toBe(0);
  });

  it('answers 413 to a chunked body that grows past 1 MiB (no Content-Length to judge it by)', async () => {
    const harness = await start();
    const chunk = 'x'.repeat(64 * 1024);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const bytes = new TextEncoder();
        controller.enqueue(bytes.encode('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"padding":"'));
        for (let i = 0; i < 20; i++) controller.enqueue(bytes.encode(chunk));
        controller.enqueue(bytes.encode('"}}'));
        controller.close();
      },
    });
    const response = await fetch(harness.url, { method: 'POST', headers: MCP_HEADERS, body, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: -32000, message: expect.stringMatching(/too large/) } });
    expect(harness.service.sessionCount).toBe(0);
  });

  it('answers a body that is not JSON with a JSON-RPC parse error, for either era', async () => {
    const harness = await start();
    for (const body of ['{"jsonrpc":"2.0","id":1,', '', 'not json at all']) {
      const response = await fetch(harness.url, { method: 'POST', headers: MCP_HEADERS, body });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 }, id: null });
    }
    expect(harness.service.sessionCount).toBe(0);
    // The server still answers well-formed requests afterwards.
    const client = await harness.connect({ era: 'modern' });
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it('closes a connection whose headers or body do not arrive in time (slow client)', async () => {
    const harness = await start({ timeouts: { headersMs: 400, requestMs: 800, checkEveryMs: 100 } });
    const stall = (text: string) =>
      new Promise<{ closedAfterMs: number; answer: string }>((done) => {
        const started = Date.now();
        let answer = '';
        const socket = connect(Number(harness.url.port), '127.0.0.1', () => socket.write(text));
        socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
        socket.on('close', () => done({ closedAfterMs: Date.now() - started, answer }));
        socket.on('error', () => {});
        setTimeout(() => socket.destroy(), 15_000);
      });
    const headers = await stall('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    expect(headers.closedAfterMs).toBeLessThan(5_000); // the default 10 s would not be
    expect(headers.answer).toMatch(/^HTTP\/1\.1 408/);
    const body = await stall('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"jsonrpc"');
    expect(body.closedAfterMs).toBeLessThan(5_000);
  });

  it('serves /healthz to any Host, /readyz when the trail and PingOne are fine, 404 elsewhere', async () => {
    const harness = await start();
    const health = await rawRequest(new URL('/healthz', harness.url), { headers: { host: '10.1.2.3:8080' } });
    expect([health.status, health.body]).toEqual([200, 'ok\n']);
    const ready = await fetch(new URL('/readyz', harness.url));
    expect([ready.status, await ready.text()]).toEqual([200, 'ready\n']);
    expect((await fetch(new URL('/admin', harness.url))).status).toBe(404);
  });

  it('reports not ready when the audit trail cannot be continued', async () => {
    const harness = await start({ auditContent: '{"not":"a record"}\n' });
    const ready = await fetch(new URL('/readyz', harness.url));
    expect([ready.status, await ready.text()]).toEqual([503, 'not ready\n']);
  });

  it('reports not ready when the worker app cannot get a token', async () => {
    const harness = await start({ pingone: { clientSecret: 'not-the-worker-secret' } });
    const ready = await fetch(new URL('/readyz', harness.url));
    expect([ready.status, await ready.text()]).toEqual([503, 'not ready\n']);
  });

  it('exposes calls, PingOne latency, audit latency and token requests in /metrics, without user identifiers', async () => {
    const harness = await start();
    const client = await harness.connect();
    await client.callTool({ name: 'find_user', arguments: { query: 'jdoe' } });
    await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe' } });
    const text = await (await fetch(new URL('/metrics', harness.url))).text();
    expect(text).toContain('pingone_mcp_tool_calls_total{tool="find_user",outcome="found"} 1');
    expect(text).toContain('pingone_mcp_tool_calls_total{tool="unlock_user",outcome="unlocked"} 1');
    expect(text).toMatch(/pingone_mcp_pingone_request_seconds_count\{kind="api",status="200"\} [1-9]/);
    expect(text).toMatch(/pingone_mcp_audit_append_seconds_count\{result="ok"\} 3/);
    expect(text).toMatch(/pingone_mcp_token_requests_total [1-9]/);
    expect(text).toContain('pingone_mcp_calls_in_flight 0');
    expect(text).not.toMatch(/jdoe|Jane|@example/i);
    expect(text).not.toContain(DEMO_USERS.jdoe.id);
  });

  it('serves /metrics on its own loopback port with PINGONE_MCP_METRICS_PORT, and not beside MCP', async () => {
    const harness = await start({ oauth: {}, env: { PINGONE_MCP_METRICS_PORT: '0' } });
    expect(harness.metricsUrl?.hostname).toBe('127.0.0.1');
    const scraped = await fetch(harness.metricsUrl!);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await scraped.text()).toContain('# TYPE pingone_mcp_tool_calls_total counter');
    expect((await fetch(new URL('/metrics', harness.url))).status).toBe(404);
  });

  it.each([
    [false, 200],
    [true, 403],
  ])('honours X-Forwarded-Host only with PINGONE_MCP_TRUST_PROXY (trusted: %s)', async (trusted, status) => {
    const harness = await start({ env: trusted ? { PINGONE_MCP_TRUST_PROXY: 'true' } : {} });
    const response = await rawRequest(harness.url, { method: 'POST', headers: { ...MCP_HEADERS, 'x-forwarded-host': 'evil.example' }, body: JSON.stringify(INITIALIZE) });
    expect(response.status).toBe(status);
  });

  it('puts /metrics behind the bearer gate when it shares the MCP port', async () => {
    const harness = await start({ oauth: {} });
    expect((await fetch(new URL('/metrics', harness.url))).status).toBe(401);
  });
});

describe('native TLS (PINGONE_MCP_TLS_CERT, PINGONE_MCP_TLS_KEY)', () => {
  it('serves MCP over https with the given certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'p1mcp-tls-'));
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    expect(made.status, made.stderr.toString()).toBe(0);
    const harness = await start({ env: { PINGONE_MCP_TLS_CERT: join(dir, 'cert.pem'), PINGONE_MCP_TLS_KEY: join(dir, 'key.pem') } });
    expect(harness.url.protocol).toBe('https:');
    const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'cert.pem')) } });
    const client = new Client({ name: 'tls-test', version: '1.0.0' });
    const tlsFetch = ((input: string | URL | Request, init?: RequestInit) => undiciFetch(input as string, { ...(init as object), dispatcher })) as unknown as typeof fetch;
    await client.connect(new StreamableHTTPClientTransport(harness.url, { fetch: tlsFetch }));
    const result = await client.callTool({ name: 'find_user', arguments: { query: 'jdoe' } });
    expect(structuredOf(result).outcome).toBe('found');
    await client.close();
    await dispatcher.close();
    // Plain HTTP to the TLS port gets no MCP answer.
    await expect(fetch(new URL(`http://127.0.0.1:${harness.url.port}/healthz`))).rejects.toThrow();
  });
});

describe('PINGONE_MCP_CONFIRM_KEY across instances', () => {
  const KEY = 'a-shared-confirmation-key-of-at-least-32-bytes';

  /** A 2026-07-28 client whose answer to a confirmation (the retry carrying requestState) reaches the other instance. */
  async function askOnOneAnswerOnOther(keys: [string | undefined, string | undefined]) {
    const first = await start(keys[0] ? { env: { PINGONE_MCP_CONFIRM_KEY: keys[0] } } : {});
    const second = await start(keys[1] ? { env: { PINGONE_MCP_CONFIRM_KEY: keys[1] } } : {});
    const routed = (async (input: string | URL | Request, init?: RequestInit) => {
      const retry = typeof init?.body === 'string' && init.body.includes('"requestState"');
      return fetch(retry ? second.url : input, init);
    }) as typeof fetch;
    const client = new Client({ name: 'replica-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { elicitation: { form: {} } } });
    let asked = 0;
    client.setRequestHandler('elicitation/create', () => {
      asked++;
      return { action: 'accept', content: { confirm: true } };
    });
    await client.connect(new StreamableHTTPClientTransport(first.url, { fetch: routed }));
    try {
      const result = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-42' } }).then(structuredOf, (error: Error) => ({ error: error.message }));
      return { asked, result, first, second };
    } finally {
      await client.close();
    }
  }

  it('lets another instance holding the same key open a confirmation sealed by the first', async () => {
    const { asked, result, first, second } = await askOnOneAnswerOnOther([KEY, KEY]);
    expect(asked).toBe(1);
    expect(result).toMatchObject({ outcome: 'unlocked' });
    // The instance that asked recorded the question; the one that received the answer, the write.
    expect(first.audit().map((record) => record.phase)).toEqual(['asked']);
    expect(second.audit().map((record) => record.phase)).toEqual(['intent', 'outcome']);
  });

  it('refuses, and writes nothing, when the instances hold different keys', async () => {
    const { result, first, second } = await askOnOneAnswerOnOther([KEY, undefined]);
    expect(result).toEqual({ error: expect.stringMatching(/Invalid or expired requestState/) });
    for (const harness of [first, second]) expect(harness.emulator.requests.filter((r) => r.method === 'POST' && r.route !== 'token')).toHaveLength(0);
  });
});
