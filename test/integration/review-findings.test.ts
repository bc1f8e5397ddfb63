import { describe, expect, it } from 'vitest';
import type { AuditEntry, AuditRecord, AuditSink } from '../../src/audit/record.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { DEMO_POPULATIONS, DEMO_USERS } from '../../src/sandbox/seed.js';
import { harnessPerTest, pingOneWrites, readAudit } from '../support/harness.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const start = harnessPerTest();
const jdoe = DEMO_USERS.jdoe;

describe('strict means strict', () => {
  it.each(['constructor', 'prototype'])('refuses an argument named %s like any unknown argument, before any request', async (key) => {
    const h = await start();
    const result = await h.call('unlock_user', { user: 'jdoe', [key]: { dryRun: false } });
    expect(result.structured.outcome).toBe('invalid_input');
    expect(result.text).toContain(key);
    expect(h.emulator.requests).toHaveLength(0);
  });

  it.each(['INC-1\u200b', '\ufeffINC-1', 'INC\u{E0041}\u{E0042}', 'INC-1\u2066x\u2069', 'INC-1\u00ad'])('refuses a reason with an invisible format character (%j)', async (reason) => {
    const h = await start();
    const result = await h.call('unlock_user', { user: 'jdoe', reason });
    expect(result.structured.outcome).toBe('invalid_input');
    expect(h.emulator.requests).toHaveLength(0);
  });

  it.each(['jdoe\u200b', '\ufeffjdoe', 'jd\u{E006F}oe', 'jdoe\u2069'])('refuses lookup text with an invisible format character (%j)', async (user) => {
    const h = await start();
    const result = await h.call('list_user_devices', { user });
    expect(result.structured.outcome).toBe('invalid_input');
    expect(h.emulator.requests).toHaveLength(0);
  });
});

describe('the write limit reserves atomically', () => {
  it('concurrent writes beyond the limit are refused before their intent is recorded', async () => {
    // Intents that take a while to become durable, as on a slow disk: the calls overlap between check and write.
    const path = join(mkdtempSync(join(tmpdir(), 'p1mcp-')), 'audit.jsonl');
    const trail = await openAuditTrail(path);
    const audit: AuditSink = {
      append: async (entry: AuditEntry) => {
        if (entry.phase === 'intent') await new Promise((resolve) => setTimeout(resolve, 150));
        return trail.append(entry);
      },
      status: () => trail.status(),
    };
    const h = await start({ audit, auditPath: path, env: { PINGONE_MCP_MAX_WRITES_PER_MINUTE: '1' } });
    const ids = ['1a2b3c4d-0000-4000-8000-000000000001', '1a2b3c4d-0000-4000-8000-000000000002', '1a2b3c4d-0000-4000-8000-000000000003'];
    for (const id of ids) {
      h.emulator.putUser({ id, username: `locked-${id.slice(-1)}`, enabled: true, population: { id: DEMO_POPULATIONS.staff }, account: { status: 'LOCKED', canAuthenticate: false } });
    }
    const results = await Promise.all(ids.map((user) => h.call('unlock_user', { user })));
    expect(results.map((r) => r.structured.outcome).sort()).toEqual(['denied', 'denied', 'unlocked']);
    expect(results.filter((r) => r.structured.error?.code === 'WRITE_RATE_LIMITED')).toHaveLength(2);
    expect(pingOneWrites(h)).toHaveLength(1);
    // Every intent record stands for a write that was sent.
    expect(h.audit().filter((r) => r.phase === 'intent')).toHaveLength(1);
  });

  it('gives the slot back when the write is not sent (audit trail refuses the intent)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'p1mcp-')), 'audit.jsonl');
    const trail = await openAuditTrail(path);
    let refuseIntents = true;
    const audit: AuditSink = {
      append: (entry: AuditEntry) => (refuseIntents && entry.phase === 'intent' ? Promise.reject(new Error('disk full.')) : trail.append(entry)),
      status: () => trail.status(),
    };
    const h = await start({ audit, auditPath: path, env: { PINGONE_MCP_MAX_WRITES_PER_MINUTE: '1' } });
    const refused = await h.call('unlock_user', { user: 'jdoe' });
    expect(refused.structured.error.code).toBe('AUDIT_UNAVAILABLE');
    // The refusal reads as one clean sentence: no doubled full stop, the problem named once.
    expect(refused.text).toBe(
      'Refused: nothing was sent to PingOne. Disk full. An administrator must fix the audit log (PINGONE_MCP_AUDIT_LOG) before writes can resume.',
    );
    refuseIntents = false;
    expect((await h.call('unlock_user', { user: 'jdoe' })).structured.outcome).toBe('unlocked');
  });
});

describe('reads are audited or refused', () => {
  it('withholds a lookup whose outcome record cannot be written', async () => {
    const audit: AuditSink = { append: () => Promise.reject(new Error('read-only file system')), status: () => ({ state: 'ready' }) };
    const h = await start({ audit });
    for (const [tool, args] of [
      ['find_user', { query: 'jdoe' }],
      ['list_user_devices', { user: 'jdoe' }],
    ] as const) {
      const result = await h.call(tool, args);
      expect(result.isError).toBe(true);
      expect(result.structured).toMatchObject({ outcome: 'failed', error: { code: 'AUDIT_UNAVAILABLE', responsible: 'admin' } });
      expect(result.structured.users).toBeUndefined();
      expect(result.structured.devices).toBeUndefined();
      expect(result.structured.user).toBeUndefined();
      expect(result.text).toMatch(/withheld/);
      expect(result.text).not.toContain('Jane');
    }
  });
});

describe('the audit keeps what PingOne said', () => {
  it('records the status and correlation id of a 404 turned into USER_NOT_FOUND', async () => {
    const h = await start();
    const result = await h.call('unlock_user', { user: '00000000-0000-4000-8000-000000000000' });
    expect(result.structured.error.code).toBe('USER_NOT_FOUND');
    const [record] = h.audit() as AuditRecord[];
    expect(record?.pingone?.status).toBe(404);
    expect(record?.pingone?.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(record?.target).toMatchObject({ lookup: '00000000-0000-4000-8000-000000000000' });
  });

  it('records the status of a device 404 turned into DEVICE_NOT_FOUND, with the user as target', async () => {
    const h = await start();
    const result = await h.call('unblock_device', { user: 'jdoe', deviceId: '00000000-0000-4000-8000-000000000000' });
    expect(result.structured.error.code).toBe('DEVICE_NOT_FOUND');
    const [record] = readAudit(h.auditPath);
    expect(record?.pingone?.status).toBe(404);
    expect(record?.target).toMatchObject({ userId: jdoe.id, deviceId: '00000000-0000-4000-8000-000000000000' });
  });

  it('refuses an answer about another user than the one asked for', async () => {
    const h = await start();
    const other = h.emulator.getUser(DEMO_USERS.bsmith.id);
    h.emulator.faults.add({ match: { route: 'user.get' }, action: { kind: 'raw', status: 200, body: JSON.stringify(other), contentType: 'application/json' } });
    const result = await h.call('unlock_user', { user: jdoe.id });
    expect(result.structured.outcome).toBe('failed');
    expect(result.structured.error.code).toBe('PINGONE_BAD_RESPONSE');
    expect(result.text).toMatch(/different user/);
    expect(pingOneWrites(h)).toHaveLength(0);
  });
});

describe('a ceiling on calls in flight', () => {
  it('refuses at once, with advice, a call beyond the ceiling and the queue', async () => {
    const h = await start({ env: { PINGONE_MCP_MAX_CONCURRENT_CALLS: '1', PINGONE_MCP_MAX_QUEUED_CALLS: '0' } });
    h.emulator.faults.add({ match: { route: 'users.search' }, action: { kind: 'delay', ms: 300 } });
    const [slow, refused] = await Promise.all([h.call('find_user', { query: 'jdoe' }), h.call('find_user', { query: 'bsmith' })]);
    expect(slow.structured.outcome).toBe('found');
    expect(refused.structured).toMatchObject({ outcome: 'failed', error: { code: 'TOO_BUSY', responsible: 'agent' } });
    expect(refused.text).toMatch(/PINGONE_MCP_MAX_CONCURRENT_CALLS/);
    expect(h.emulator.requests.filter((r) => r.route === 'users.search')).toHaveLength(1);
    expect(h.audit().map((r) => r.outcome).sort()).toEqual(['failed', 'found']);
  });

  it('lets calls beyond the ceiling wait in the queue, never more than the ceiling at PingOne at once', async () => {
    const h = await start({ env: { PINGONE_MCP_MAX_CONCURRENT_CALLS: '2', PINGONE_MCP_MAX_QUEUED_CALLS: '10' } });
    h.emulator.faults.add({ match: { route: 'users.search' }, times: Infinity, action: { kind: 'delay', ms: 50 } });
    const results = await Promise.all(Array.from({ length: 8 }, () => h.call('find_user', { query: 'jdoe' })));
    expect(results.every((r) => r.structured.outcome === 'found')).toBe(true);
    // Each search was received only after an earlier one of its pair had been answered.
    const searches = h.emulator.requests.filter((r) => r.route === 'users.search').sort((a, b) => a.receivedAt - b.receivedAt);
    expect(searches).toHaveLength(8);
    for (const [i, request] of searches.entries()) {
      const open = searches.slice(0, i).filter((earlier) => earlier.status === undefined || earlier.receivedAt + 50 > request.receivedAt);
      expect(open.length).toBeLessThanOrEqual(2);
    }
  });
});
