import { describe, expect, it } from 'vitest';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { readAudit } from '../support/harness.js';
import { spawnedPerTest, waitUntil } from './support/spawned.js';

/**
 * Protocol abuse against the spawned binary, spoken by hand over its pipes.
 * Whatever comes in, stdout carries JSON-RPC messages and nothing else.
 */

const start = spawnedPerTest();

describe('malformed input and unknown methods', () => {
  it('skips what is not JSON-RPC, answers unknown methods with -32601, and keeps serving', async () => {
    const { server: s } = await start();
    const junk = [
      'this is not json',
      '{"jsonrpc":"2.0","id":',
      '[]',
      '[1,2,3]',
      '{}',
      'null',
      '42',
      '"string"',
      '{"jsonrpc":"2.0"}',
      '{"jsonrpc":"1.0","id":90,"method":"ping"}',
      '{"id":91,"method":"tools/list"}',
      '{"jsonrpc":"2.0","id":{"nested":true},"method":"ping"}',
      '\u0000\u0001\u0002',
      '\r',
      '\ufeff{"jsonrpc":"2.0","id":92,"method":"ping"}',
      '{"jsonrpc":"2.0","id":93,"result":{}}',
      '{"jsonrpc":"2.0","method":"notifications/unknown","params":{}}',
      '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"never-sent"}}',
    ];
    for (const line of junk) s.send(line);
    s.send({ jsonrpc: '2.0', id: 1, method: 'no/such/method' });
    s.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'no_such_tool', arguments: {} } });
    s.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'unlock_user', arguments: 'jdoe' } });
    s.send({ jsonrpc: '2.0', id: 4, method: 'tools/call' });
    s.send({ jsonrpc: '2.0', id: 5, method: 'ping' });
    s.callTool(6, 'unlock_user', { user: 'bsmith' });

    expect((await s.response(1)).error?.code).toBe(-32601);
    const unknownTool = await s.response(2);
    expect(unknownTool.error ?? unknownTool.result?.isError).toBeTruthy();
    expect((await s.response(3)).error?.code).toBe(-32602);
    expect((await s.response(4)).error?.code).toBe(-32602);
    expect((await s.response(5)).result).toEqual({});
    expect((await s.response(6)).result?.structuredContent).toMatchObject({ outcome: 'not_locked' });
    expect(s.exitCode).toBeNull();
    // Problems are reported on stderr as one bounded line each, never echoed to stdout.
    for (const line of s.stderr().split('\n').filter(Boolean)) {
      expect(() => JSON.parse(line)).not.toThrow();
      expect(line.length).toBeLessThan(4_000);
    }
  });

  it('drops a 10 MB message without buffering it, answers its id with -32600, and keeps serving', async () => {
    const { server: s } = await start();
    const huge = 'x'.repeat(10 * 1000 * 1000);
    // The id last, as the SDK client writes it; then the id first.
    s.send(`{"method":"tools/call","params":{"name":"unlock_user","arguments":{"user":"${huge}"}},"jsonrpc":"2.0","id":10}`);
    s.send(`{"jsonrpc":"2.0","id":"eleven","method":"tools/call","params":{"name":"unlock_user","arguments":{"user":"${huge}"}}}`);
    // A large argument under the message limit is refused by the input schema instead.
    s.callTool(12, 'unlock_user', { user: 'y'.repeat(900 * 1000) });
    s.callTool(13, 'unlock_user', { user: 'bsmith' });

    expect((await s.response(10, 20_000)).error).toMatchObject({ code: -32600, message: expect.stringMatching(/at most 1048576/) });
    expect((await s.response('eleven', 20_000)).error?.code).toBe(-32600);
    const tooLong = await s.response(12, 20_000);
    expect(tooLong.result?.isError).toBe(true);
    expect((await s.response(13, 20_000)).result?.structuredContent).toMatchObject({ outcome: 'not_locked' });
    expect(s.stderr()).toMatch(/dropped an MCP message larger than 1048576 bytes/);
    expect(s.stderr()).not.toContain('xxxxxxxxxx');
    expect(s.exitCode).toBeNull();
  });
});

describe('stdin closing with requests in flight', () => {
  it('answers the calls already sent, records them, and exits 0 promptly', async () => {
    const { server: s, emulator: e, auditPath } = await start();
    e.faults.add({ match: { route: 'user.action' }, action: { kind: 'delay', ms: 500 } });
    s.callTool(20, 'unlock_user', { user: 'jdoe', reason: 'INC-eof' });
    s.callTool(21, 'unlock_user', { user: 'bsmith' });
    s.endInput();

    const started = Date.now();
    const { code } = await s.exited;
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    const unlocked = await s.response(20, 100);
    expect(unlocked.result?.structuredContent).toMatchObject({ outcome: 'unlocked' });
    expect((await s.response(21, 100)).result?.structuredContent).toMatchObject({ outcome: 'not_locked' });
    expect(e.getUser(DEMO_USERS.jdoe.id)?.account?.status).toBe('OK');
    const records = readAudit(auditPath);
    expect(records.filter((r) => r.auditId === unlocked.result?.structuredContent.auditId).map((r) => r.outcome ?? r.phase)).toEqual(['intent', 'unlocked']);
    expect(await verifyAuditFile(auditPath)).toMatchObject({ ok: true, records: 3 });
  });

  it('exits at once when stdin closes with nothing in flight', async () => {
    const { server: s } = await start();
    const started = Date.now();
    s.endInput();
    expect((await s.exited).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('notifications/cancelled mid-call', () => {
  it('aborts the HTTP write, records what happened, sends no answer, and keeps serving', async () => {
    const { server: s, emulator: e, auditPath } = await start();
    e.faults.add({ match: { route: 'user.action' }, action: { kind: 'hang' } });
    s.callTool(30, 'unlock_user', { user: 'jdoe', reason: 'INC-cancel' });
    await waitUntil(() => e.requests.some((r) => r.route === 'user.action'), 10_000, 'the write reaching PingOne');
    s.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 30, reason: 'the person changed their mind' } });

    await waitUntil(() => e.requests.find((r) => r.route === 'user.action')?.unanswered === true, 5_000, 'the HTTP request being aborted');
    await waitUntil(() => readAudit(auditPath).length === 2, 5_000, 'the outcome record');
    const [intent, outcome] = readAudit(auditPath);
    expect(intent).toMatchObject({ phase: 'intent', tool: 'unlock_user', reason: 'INC-cancel' });
    expect(outcome).toMatchObject({ phase: 'outcome', auditId: intent?.auditId, outcome: 'failed', pingone: { errorCode: 'CANCELLED' } });

    s.callTool(31, 'unlock_user', { user: 'bsmith' });
    expect((await s.response(31)).result?.structuredContent).toMatchObject({ outcome: 'not_locked' });
    // A cancelled request is never answered (MCP: the receiver should not respond).
    expect(s.stdoutLines().some((line) => (JSON.parse(line) as { id?: unknown }).id === 30)).toBe(false);
  });

  it('aborts a read, with no intent recorded', async () => {
    const { server: s, emulator: e, auditPath } = await start();
    e.faults.add({ match: { route: 'users.search' }, action: { kind: 'hang' } });
    s.callTool(40, 'unlock_user', { user: 'jdoe' });
    await waitUntil(() => e.requests.some((r) => r.route === 'users.search'), 10_000, 'the search reaching PingOne');
    s.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 40 } });
    await waitUntil(() => readAudit(auditPath).length === 1, 5_000, 'the outcome record');
    expect(readAudit(auditPath)[0]).toMatchObject({ phase: 'outcome', outcome: 'failed', pingone: { errorCode: 'CANCELLED' } });
    await waitUntil(() => e.requests.find((r) => r.route === 'users.search')?.unanswered === true, 5_000, 'the HTTP request being aborted');
    expect(e.getUser(DEMO_USERS.jdoe.id)?.account?.status).toBe('LOCKED');
  });
});
