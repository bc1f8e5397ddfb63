import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
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
    expect(records[0]?.actor.osUser).toBeTruthy();
    expect(records[1]?.durationMs).toBeGreaterThanOrEqual(0);
    expect(await verifyAuditFile(harness.auditPath)).toMatchObject({ ok: true, records: 5 });
  });

  it('gives concurrent calls a gap-free seq and an intact chain', async () => {
    const harness = await start();
    const calls = Array.from({ length: 30 }, (_, i) =>
      harness.call('unlock_user', { user: i % 2 === 0 ? 'bsmith' : 'mlopez', reason: `INC-${i}` }),
    );
    const results = await Promise.all(calls);
    expect(results.every((r) => r.structured.outcome === 'not_locked')).toBe(true);
    const records = harness.audit();
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await verifyAuditFile(harness.auditPath)).toMatchObject({ ok: true, records: 30 });
  });

  it('fails closed when the audit directory cannot be created: no write reaches PingOne', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'not-a-directory'), 'x');
    const harness = await start({ auditPath: join(dir, 'not-a-directory', 'audit.jsonl') });
    const result = await harness.call('unlock_user', { user: 'jdoe' });
    expect(result.isError).toBe(true);
    expect(result.structured.error.code).toBe('AUDIT_UNAVAILABLE');
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
