import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer as createNetServer } from 'node:net';
import { environmentFor } from '../../src/sandbox/connect.js';
import { makeKey, signToken, startTestIssuer, type TestIssuer } from '../auth/testIssuer.js';
import { startTestEmulator as startEmulator, type TestEmulator as Emulator } from '../support/emulator.js';
import { readAudit } from '../support/harness.js';
import { startHttpBinary } from './httpBinary.js';

const emulators: Emulator[] = [];
const issuers: TestIssuer[] = [];
afterEach(async () => {
  await Promise.all(issuers.splice(0).map((issuer) => issuer.close()));
  await Promise.all(emulators.splice(0).map((emulator) => emulator.close()));
});

describe('the built binary with --http', () => {
  it('refuses to listen on a non-loopback address without OAuth: one line naming the setting, exit 2', async () => {
    const server = startHttpBinary(['--sandbox', '--http'], { PINGONE_MCP_HTTP_HOST: '0.0.0.0', PINGONE_MCP_AUDIT_LOG: join(mkdtempSync(join(tmpdir(), 'p1mcp-')), 'a.jsonl') });
    expect(await server.exited).toBe(2);
    const lines = server.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/PINGONE_MCP_HTTP_HOST=0\.0\.0\.0 .*PINGONE_MCP_RESOURCE/);
    expect(server.stdout()).toBe('');
  });

  it('reads the client secret from PINGONE_CLIENT_SECRET_FILE and is ready once PingOne issued a token', async () => {
    const emulator = await startEmulator();
    emulators.push(emulator);
    const dir = mkdtempSync(join(tmpdir(), 'p1mcp-secret-'));
    writeFileSync(join(dir, 'secret'), `${emulator.clientSecret}\n`, { mode: 0o600 });
    const { PINGONE_CLIENT_SECRET: _unused, ...env } = environmentFor(emulator);
    const server = startHttpBinary(['--http'], { ...env, PINGONE_CLIENT_SECRET_FILE: join(dir, 'secret'), PINGONE_MCP_AUDIT_LOG: join(dir, 'audit.jsonl') });
    const url = await server.url;
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await fetch(new URL('/readyz', url))).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect(emulator.issuedTokens.length).toBeGreaterThan(0);
    expect(server.stderr()).not.toContain(emulator.clientSecret);
  });

  it('drains on SIGTERM: a call in flight finishes and is answered, new requests get 503, exit 0', async () => {
    const emulator = await startEmulator({ latencyMs: 700 });
    emulators.push(emulator);
    const auditPath = join(mkdtempSync(join(tmpdir(), 'p1mcp-')), 'audit.jsonl');
    const server = startHttpBinary(['--http'], { ...environmentFor(emulator), PINGONE_MCP_AUDIT_LOG: auditPath, PINGONE_MCP_CONFIRM: 'never' });
    const url = await server.url;
    const client = new Client({ name: 'drain-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(url));
    const call = client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-9' } });
    // Wait until the call is under way at PingOne, then ask the server to stop.
    while (!emulator.requests.some((r) => r.route !== 'token' && r.method === 'GET')) await new Promise((r) => setTimeout(r, 20));
    server.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const late = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'late', version: '1' } } }),
    });
    expect(late.status).toBe(503);
    expect((await fetch(new URL('/readyz', url))).status).toBe(503);
    const result = await call;
    expect((result.structuredContent as Record<string, unknown>).outcome).toBe('unlocked');
    expect(await server.exited).toBe(0);
    expect(readAudit(auditPath).map((record) => [record.phase, record.outcome])).toEqual([
      ['intent', undefined],
      ['outcome', 'unlocked'],
    ]);
    await client.close().catch(() => {});
  });

  it('in tenant OAuth mode checks tokens from PINGONE_MCP_OAUTH_ISSUER: 401 with the challenge without one, tools with one', async () => {
    const emulator = await startEmulator();
    emulators.push(emulator);
    const idp = await startTestIssuer();
    issuers.push(idp);
    const key = await makeKey('k1');
    idp.published = [key];
    const resource = `http://127.0.0.1:${await freePort()}/mcp`;
    const server = startHttpBinary(['--http'], {
      ...environmentFor(emulator),
      PINGONE_MCP_HTTP_PORT: new URL(resource).port,
      PINGONE_MCP_RESOURCE: resource,
      PINGONE_MCP_OAUTH_ISSUER: idp.issuer,
      PINGONE_MCP_AUDIT_LOG: join(mkdtempSync(join(tmpdir(), 'p1mcp-')), 'audit.jsonl'),
    });
    const url = await server.url;
    expect(url.href).toBe(resource);
    const refused = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${new URL('/.well-known/oauth-protected-resource/mcp', url).href}", scope="helpdesk:read"`);
    const token = await signToken({ key, issuer: idp.issuer, audience: resource, claims: { scope: 'helpdesk:read', preferred_username: 'ops1' } });
    const client = new Client({ name: 'tenant-oauth', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(url, { authProvider: { token: async () => token } }));
    const result = await client.callTool({ name: 'find_user', arguments: { query: 'jdoe' } });
    expect((result.structuredContent as Record<string, unknown>).outcome).toBe('found');
    await client.close();
    expect(idp.requests.jwks).toBeGreaterThan(0);
    expect(server.stderr()).toMatch(/"oauth":"issuer"/);
    expect(server.stderr()).not.toContain(token);
  });

  it('starts when the issuer cannot be reached yet: a warning, and 500 without a challenge for a token it cannot check', async () => {
    const emulator = await startEmulator();
    emulators.push(emulator);
    const resource = `http://127.0.0.1:${await freePort()}/mcp`;
    const server = startHttpBinary(['--http'], {
      ...environmentFor(emulator),
      PINGONE_MCP_HTTP_PORT: new URL(resource).port,
      PINGONE_MCP_RESOURCE: resource,
      PINGONE_MCP_OAUTH_ISSUER: `http://127.0.0.1:${await freePort()}/as`,
      PINGONE_MCP_AUDIT_LOG: join(mkdtempSync(join(tmpdir(), 'p1mcp-')), 'audit.jsonl'),
    });
    const url = await server.url;
    for (let i = 0; i < 50 && !server.stderr().includes('PINGONE_MCP_OAUTH_ISSUER'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(server.stderr()).toMatch(/"level":40.*could not be fetched yet.*PINGONE_MCP_OAUTH_ISSUER/);
    const key = await makeKey('k1');
    const token = await signToken({ key, issuer: 'http://127.0.0.1:1/as', audience: resource, claims: { scope: 'helpdesk:read' } });
    const answer = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{}' });
    expect(answer.status).toBe(500);
    expect(answer.headers.get('www-authenticate')).toBeNull();
    expect((await fetch(new URL('/healthz', url))).status).toBe(200);
  });
});

async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return port;
}
