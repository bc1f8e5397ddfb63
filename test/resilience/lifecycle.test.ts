import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyAuditFile } from '../../src/audit/verify.js';
import type { Emulator } from '../../src/sandbox/emulator.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { readAudit } from '../support/harness.js';
import { spawnedPerTest, waitUntil } from './support/spawned.js';

/**
 * Shutdown and crash behaviour of the spawned binary: signals with calls in
 * flight, the grace period, a second signal, stdin closing, and an error
 * nobody caught.
 */

const CRASH_MODULE = resolve(import.meta.dirname, 'fixtures/crash-when-serving.mjs');

const start = spawnedPerTest();

const writeArrived = (e: Emulator) => () => e.requests.some((r) => r.route === 'user.action');

describe.each(['SIGTERM', 'SIGINT'] as const)('%s with a call in flight', (signal) => {
  it('refuses new requests, lets the call finish and answers it, then exits 0', async () => {
    const { server: s, emulator: e, auditPath } = await start();
    e.faults.add({ match: { route: 'user.action' }, action: { kind: 'delay', ms: 1_500 } });
    s.callTool(1, 'unlock_user', { user: 'jdoe', reason: `INC-${signal}` });
    await waitUntil(writeArrived(e), 10_000, 'the write reaching PingOne');
    s.kill(signal);
    await waitUntil(() => s.stderr().includes('shutting down'), 5_000, 'the shutdown to begin');
    s.callTool(2, 'unlock_user', { user: 'bsmith' });

    const refused = await s.response(2);
    expect(refused.error).toMatchObject({ code: -32000, message: expect.stringMatching(/shutting down/) });
    const finished = await s.response(1);
    expect(finished.result?.structuredContent).toMatchObject({ outcome: 'unlocked' });
    expect((await s.exited).code).toBe(0);
    expect(e.getUser(DEMO_USERS.jdoe.id)?.account?.status).toBe('OK');
    expect(readAudit(auditPath).map((r) => r.outcome ?? r.phase)).toEqual(['intent', 'unlocked']);
    // The refused request never reached PingOne.
    expect(e.requests.filter((r) => r.route === 'users.search')).toHaveLength(1);
    expect(await verifyAuditFile(auditPath)).toMatchObject({ ok: true, records: 2 });
  });
});

describe('past the grace period', () => {
  it('cancels the call, answers it as interrupted, records that, aborts the HTTP request, exits 0', async () => {
    const { server: s, emulator: e, auditPath } = await start({ PINGONE_MCP_SHUTDOWN_GRACE_MS: '300' });
    e.faults.add({ match: { route: 'user.action' }, action: { kind: 'hang' } });
    s.callTool(1, 'unlock_user', { user: 'jdoe', reason: 'INC-grace' });
    await waitUntil(writeArrived(e), 10_000, 'the write reaching PingOne');
    const signalled = Date.now();
    s.kill('SIGTERM');

    const answer = await s.response(1);
    expect(answer.result?.isError).toBe(true);
    expect(answer.result?.structuredContent).toMatchObject({ outcome: 'interrupted' });
    expect((await s.exited).code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(readAudit(auditPath).map((r) => r.outcome ?? r.phase)).toEqual(['intent', 'interrupted']);
    expect(e.requests.find((r) => r.route === 'user.action')?.unanswered).toBe(true);
    expect(s.stderr()).toMatch(/recorded as interrupted/);
  });

  it('a second signal cuts a long grace period short', async () => {
    const { server: s, emulator: e, auditPath } = await start({ PINGONE_MCP_SHUTDOWN_GRACE_MS: '60000' });
    e.faults.add({ match: { route: 'user.action' }, action: { kind: 'hang' } });
    s.callTool(1, 'unlock_user', { user: 'jdoe' });
    await waitUntil(writeArrived(e), 10_000, 'the write reaching PingOne');
    s.kill('SIGTERM');
    await waitUntil(() => s.stderr().includes('shutting down'), 5_000, 'the shutdown to begin');
    const second = Date.now();
    s.kill('SIGINT');
    expect((await s.exited).code).toBe(0);
    // Far below the 60 s grace period it cuts short.
    expect(Date.now() - second).toBeLessThan(10_000);
    expect(readAudit(auditPath).map((r) => r.outcome ?? r.phase)).toEqual(['intent', 'interrupted']);
  });

  it('stdin closing with a hanging call: interrupted after the grace period, then exit 0', async () => {
    const { server: s, emulator: e, auditPath } = await start({ PINGONE_MCP_SHUTDOWN_GRACE_MS: '300' });
    e.faults.add({ match: { route: 'users.search' }, action: { kind: 'hang' } });
    s.callTool(1, 'unlock_user', { user: 'jdoe' });
    await waitUntil(() => e.requests.some((r) => r.route === 'users.search'), 10_000, 'the search reaching PingOne');
    s.endInput();
    expect((await s.exited).code).toBe(0);
    expect(readAudit(auditPath).map((r) => r.outcome ?? r.phase)).toEqual(['interrupted']);
  });
});

describe.each(['throw', 'reject'] as const)('an uncaught error (%s) while serving', (kind) => {
  it('is logged on stderr and ends the process with exit code 1, promptly', async () => {
    const started = Date.now();
    const { server: s } = await start({ CRASH_KIND: kind, PINGONE_MCP_LOG_LEVEL: 'info' }, ['--import', CRASH_MODULE]);
    const { code } = await s.exited;
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    const fatal = s
      .stderr()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message?: string } })
      .find((line) => line.level === 60);
    expect(fatal?.msg).toBe(kind === 'throw' ? 'uncaught exception' : 'unhandled promise rejection');
    expect(fatal?.err?.message).toMatch(/^boom/);
  });
});
