import { McpServer } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { LegacySessions, principalOf } from '../../src/http/sessions.js';

const open: LegacySessions[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((sessions) => sessions.closeAll()));
});

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'unit', version: '1' } } };
const post = (body: unknown, headers: Record<string, string> = {}) =>
  new Request('http://127.0.0.1/mcp', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(body) });

function sessions(idleMs: number): LegacySessions {
  const made = new LegacySessions({ factory: () => new McpServer({ name: 'unit', version: '1' }, { capabilities: { tools: {} } }), max: 10, idleMs, maxBodyBytes: 1024 * 1024 });
  open.push(made);
  return made;
}

describe('2025-era sessions', () => {
  it('closes a session left unused longer than the idle time; its id then gets 404', async () => {
    const pool = sessions(200);
    const opened = await pool.handle(post(INITIALIZE), {});
    await opened.text();
    const id = opened.headers.get('mcp-session-id')!;
    expect(pool.size).toBe(1);
    await new Promise((r) => setTimeout(r, 1_600));
    expect(pool.size).toBe(0);
    const late = await pool.handle(post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' }), {});
    expect(late.status).toBe(404);
  });

  it('keeps no session for a first request that is not initialize', async () => {
    const pool = sessions(60_000);
    const response = await pool.handle(post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), {});
    expect(response.status).toBe(400);
    expect(pool.size).toBe(0);
  });

  it('binds a session to the verified operator (issuer and subject) and client, not to the token itself', () => {
    const base = { token: 'a', clientId: 'c', scopes: [], extra: { issuer: 'https://i', subject: 's', displayName: 'S' } };
    expect(principalOf({ ...base, token: 'refreshed', extra: { ...base.extra, displayName: 'renamed' } })).toBe(principalOf(base));
    expect(principalOf({ ...base, extra: { ...base.extra, subject: 'other' } })).not.toBe(principalOf(base));
    expect(principalOf({ ...base, extra: { ...base.extra, issuer: 'https://j' } })).not.toBe(principalOf(base));
    expect(principalOf({ ...base, clientId: 'another-app' })).not.toBe(principalOf(base));
    expect(principalOf(undefined)).toBe('');
  });
});
