import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeAuditFileSystem, openAuditTrail, type AuditFileSystem } from '../../src/audit/trail.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { harnessPerTest, pingOneWrites, type Harness } from '../support/harness.js';

const start = harnessPerTest();

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'p1mcp-audit-'));
}

describe('the audit trail behind real tool calls', () => {
  it('records who did what to whom and why, chained and verifiable', async () => {
    const harness = await start();
    await harness.call('unlock_user', { user: 'jdoe', reason: 'INC-7 "quoted" {"forged":true}' });
    await harness.call('unblock_device', { user: 'jdoe', deviceId: DEMO_USERS.jdoe.blockedSmsDeviceId, reason: 'INC-8' });
    await harness.call('unlock_user', { user: 'bsmith' });

    const records = harness.audit();
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(records[0]?.prevHash).toBe('');
    for (let i = 1; i < records.length; i++) expect(records[i]?.prevHash).toBe(records[i - 1]?.hash);
    expect(records[0]?.reason).toBe('INC-7 "quoted" {"forged":true}');
    expect(records[0]?.actor).toMatchObject({ client: 'harness-client/1.0.0', host: hostname() });
    // The connection named itself once; every later call of it records the same client.
    expect(records.map((r) => r.actor.client)).toEqual(Array.from({ length: 5 }, () => 'harness-client/1.0.0'));
    expect(records[0]?.actor.osUser).toBeTruthy();
    expect(records[1]?.durationMs).toBeGreaterThanOrEqual(0);
    expect(await verifyAuditFile(harness.auditPath)).toMatchObject({ ok: true, records: 5 });
  });

  it('gives concurrent calls a gap-free seq and an intact chain, their appends really overlapping', async () => {
    const auditPath = join(tempDir(), 'audit.jsonl');
    const trail = await openAuditTrail(auditPath);
    const harness = await start({ auditPath, audit: trail });
    const calls = Array.from({ length: 30 }, (_, i) =>
      harness.call('unlock_user', { user: i % 2 === 0 ? 'bsmith' : 'mlopez', reason: `INC-${i}` }),
    );
    const results = await Promise.all(calls);
    expect(results.every((r) => r.structured.outcome === 'not_locked')).toBe(true);
    const records = harness.audit();
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(new Set(records.map((r) => r.auditId)).size).toBe(30);
    // Records from different calls were in flight together: some fdatasync made more than one durable.
    const stats = trail.syncStats();
    expect(stats.records).toBe(30);
    expect(stats.syncs).toBeLessThan(30);
    expect(await verifyAuditFile(harness.auditPath)).toMatchObject({ ok: true, records: 30 });
  });

  it('a foreign lock on the trail stalls neither ping nor the event loop', async () => {
    const harness = await start();
    // Held by a live process on this host (the test runner's parent), so never judged stale.
    writeFileSync(`${harness.auditPath}.lock`, `${process.ppid} ${hostname().replace(/\s+/g, '_')} feedface`);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let readsSettled = 0;
    const reads = Array.from({ length: 5 }, () => harness.call('find_user', { query: 'jdoe' }).finally(() => (readsSettled += 1)));
    await harness.client.ping();
    const settledWhenPingAnswered = readsSettled;
    await Promise.allSettled(reads);
    delay.disable();
    // Each read's record waits up to 2 s for the lock; ping is answered meanwhile.
    expect(settledWhenPingAnswered).toBe(0);
    expect(delay.max / 1e6).toBeLessThan(1_000);
    expect(pingOneWrites(harness)).toHaveLength(0);
  }, 30_000);

  // Runs as root too (CI does): root ignores file modes, but not a file where a directory must be.
  it('fails closed when the operating system refuses the file under a running server (ENOTDIR): nothing reaches PingOne, the reason is one sentence', async () => {
    const dir = join(tempDir(), 'trail');
    mkdirSync(dir);
    const auditPath = join(dir, 'audit.jsonl');
    const harness = await start({ auditPath });
    await harness.call('unlock_user', { user: 'bsmith' });
    fs.renameSync(dir, `${dir}.moved`);
    writeFileSync(dir, 'not a directory');
    const result = await harness.call('unlock_user', { user: 'jdoe' });
    expect(result.structured.error.code).toBe('AUDIT_UNAVAILABLE');
    const reason = `Cannot write the audit file ${auditPath}: a parent of the path is not a directory (ENOTDIR).`;
    expect(result.text).toContain(reason);
    // One sentence of ours; how often the tool's text repeats it is the tool layer's business.
    expect(result.text).not.toMatch(/PingOne\. [a-z]/);
    fs.unlinkSync(dir);
    fs.renameSync(`${dir}.moved`, dir);
    const again = await harness.call('unlock_user', { user: 'jdoe' });
    expect(again.structured.error.code).toBe('AUDIT_UNAVAILABLE');
    expect(pingOneWrites(harness)).toHaveLength(0);
    expect(harness.emulator.getUser(DEMO_USERS.jdoe.id)?.account?.status).toBe('LOCKED');
  });

  it('fails closed when the audit directory cannot be created: no write reaches PingOne', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'not-a-directory'), 'x');
    const harness = await start({ auditPath: join(dir, 'not-a-directory', 'audit.jsonl') });
    const result = await harness.call('unlock_user', { user: 'jdoe' });
    expect(result.isError).toBe(true);
    expect(result.structured.error.code).toBe('AUDIT_UNAVAILABLE');
    expect(result.text).toContain(`${join(dir, 'not-a-directory')} is a file, not a directory`);
    expect(result.text).not.toContain('EEXIST');
    expect(pingOneWrites(harness)).toHaveLength(0);
    expect(harness.emulator.getUser(DEMO_USERS.jdoe.id)?.account?.status).toBe('LOCKED');
  });

  it('fails closed on a full disk: no write reaches PingOne, and the trail stays refused', async () => {
    const auditPath = join(tempDir(), 'audit.jsonl');
    // The operating system's answer to a full disk, injected at the one seam the trail has for it.
    const fullDisk: AuditFileSystem = {
      ...nodeAuditFileSystem,
      write: async () => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    };
    const harness = await start({ auditPath, audit: await openAuditTrail(auditPath, { fileSystem: fullDisk }) });
    const result = await harness.call('unblock_device', { user: 'jdoe', deviceId: DEMO_USERS.jdoe.blockedSmsDeviceId });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/no space left on device/);
    const again = await harness.call('unlock_user', { user: 'jdoe' });
    expect(again.structured.error.code).toBe('AUDIT_UNAVAILABLE');
    expect(pingOneWrites(harness)).toHaveLength(0);
  });

  it('fails closed when the file is a directory', async () => {
    const dir = tempDir();
    const auditPath = join(dir, 'audit.jsonl');
    mkdirSync(auditPath);
    const harness = await start({ auditPath });
    const result = await harness.call('unlock_user', { user: 'jdoe' });
    expect(result.structured.error.code).toBe('AUDIT_UNAVAILABLE');
    expect(pingOneWrites(harness)).toHaveLength(0);
  });

  it('refuses writes on a trail whose last record does not verify, instead of continuing it', async () => {
    const dir = tempDir();
    const auditPath = join(dir, 'audit.jsonl');
    const first = await start({ auditPath });
    await first.call('unlock_user', { user: 'bsmith' });
    await first.close();
    writeFileSync(auditPath, '{"seq":2,"truncated mid-', { flag: 'a' });

    const harness = await start({ auditPath });
    const result = await harness.call('unlock_user', { user: 'jdoe' });
    expect(result.structured.error.code).toBe('AUDIT_UNAVAILABLE');
    expect(result.text).toMatch(/audit verify/);
    expect(pingOneWrites(harness)).toHaveLength(0);
  });
});
