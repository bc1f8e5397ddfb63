import { describe, expect, it } from 'vitest';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { readAudit } from '../support/harness.js';
import { spawnedPerTest, waitUntil } from './support/spawned.js';

const start = spawnedPerTest();

describe('a client that reuses a request id', () => {
  it('SIGTERM still waits for the write in flight under that id', async () => {
    const { server: s, emulator: e, auditPath } = await start({ PINGONE_MCP_SHUTDOWN_GRACE_MS: '60000' });
    e.faults.add({ match: { route: 'user.action' }, action: { kind: 'delay', ms: 1_500 } });
    s.callTool(7, 'unlock_user', { user: 'jdoe', reason: 'INC-dup' });
    await waitUntil(() => e.requests.some((r) => r.route === 'user.action'), 10_000, 'the write reaching PingOne');
    // The same id again, for a read that is answered at once.
    s.callTool(7, 'find_user', { query: 'bsmith' });
    await waitUntil(() => s.stdoutLines().some((line) => line.includes('"id":7')), 10_000, 'the read answered');
    s.kill('SIGTERM');
    await s.exited;
    const records = readAudit(auditPath);
    const text = s.stdoutLines().join('\n');
    // The write that reached PingOne is answered and its outcome recorded before the exit.
    expect(records.filter((r) => r.tool === 'unlock_user').map((r) => r.outcome ?? r.phase), text).toEqual(['intent', 'unlocked']);
    expect(e.getUser(DEMO_USERS.jdoe.id)?.account?.status).toBe('OK');
    expect(await verifyAuditFile(auditPath)).toMatchObject({ ok: true });
  });

  it('SIGTERM after the client cancelled a write in flight still records the outcome of that write before the exit', async () => {
    const { server: s, emulator: e, auditPath } = await start({ PINGONE_MCP_SHUTDOWN_GRACE_MS: '60000' });
    e.faults.add({ match: { route: 'user.action' }, action: { kind: 'delay', ms: 1_500 } });
    s.callTool(8, 'unlock_user', { user: 'jdoe', reason: 'INC-cancel' });
    await waitUntil(() => e.requests.some((r) => r.route === 'user.action'), 10_000, 'the write reaching PingOne');
    s.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 8, reason: 'user gave up' } });
    s.kill('SIGTERM');
    await s.exited;
    const records = readAudit(auditPath);
    const phases = records.filter((r) => r.tool === 'unlock_user').map((r) => r.phase);
    // An intent whose write reached PingOne is closed by an outcome record, whatever the client did.
    expect(phases, JSON.stringify(records)).toEqual(['intent', 'outcome']);
    expect(await verifyAuditFile(auditPath)).toMatchObject({ ok: true });
  });
});

describe('the client name from initialize, once per connection', () => {
  it('reaches the audit record without controls, capped, and the same for every call of the connection', async () => {
    const { server: s, auditPath } = await start();
    // `start` initialized as "resilience-test"; a second initialize on the same connection renames it.
    s.send({
      jsonrpc: '2.0',
      id: 'init2',
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: `evil\u202e\u0000\n${'x'.repeat(5000)}`, version: '1\u001b[31m' } },
    });
    await s.response('init2');
    for (const id of [21, 22]) {
      s.callTool(id, 'find_user', { query: 'bsmith' });
      await s.response(id);
    }
    const clients = readAudit(auditPath).map((record) => record.actor.client ?? '');
    expect(clients).toHaveLength(2);
    expect(clients[0]).toBe(clients[1]);
    for (const client of clients) {
      expect(client).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
      expect(Array.from(client).length).toBeLessThanOrEqual(100);
      expect(client.startsWith('evil')).toBe(true);
    }
  });
});
