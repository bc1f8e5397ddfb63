import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { readLines, sampleEntry, steppingClock, tempDir } from './helpers.js';

// A batch's records are built while the lock's create is in flight, on the chain position the
// trail last saw, and rebuilt under the lock when another writer moved the chain meanwhile.

function recordsOf(file: string): AuditRecord[] {
  return readLines(file).map((line) => JSON.parse(line) as AuditRecord);
}

describe('records built before the lock is held', () => {
  it('are rebuilt on the new tail when another trail appended since our last look: one chain, no gap', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const ours = await openAuditTrail(file);
    const other = await openAuditTrail(file);
    const returned: AuditRecord[] = [];
    for (let i = 0; i < 6; i++) returned.push(await (i % 2 === 0 ? ours : other).append(sampleEntry(i)));
    const written = recordsOf(file);
    expect(written.map((record) => record.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    // Every caller was handed the record that is on the disk, not the one built on a stale tail.
    expect(returned).toEqual(written);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 6 });
  });

  it('a rebuilt batch reads the clock again, so times never go back along the chain', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    // Ours is an hour behind the other at first and moves 40 minutes per reading: a batch that kept
    // the time read before another writer's record would land before it.
    const ours = await openAuditTrail(file, { now: steppingClock('2026-11-01T09:00:00.000Z', 40 * 60_000) });
    const other = await openAuditTrail(file, { now: () => new Date('2026-11-01T10:00:00.000Z') });
    await ours.append(sampleEntry(0)); // 09:00
    await other.append(sampleEntry(1)); // 10:00
    await ours.append(sampleEntry(2)); // built at 09:40 on seq 1, rebuilt at 10:20 on seq 2
    await ours.whenIdle();
    const times = recordsOf(file).map((record) => record.time);
    expect(times).toEqual(['2026-11-01T09:00:00.000Z', '2026-11-01T10:00:00.000Z', '2026-11-01T10:20:00.000Z']);
  });

  it('a batch on an unchanged tail keeps the time it was built with: one clock reading per batch', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const trail = await openAuditTrail(file, { now: steppingClock('2026-11-01T10:00:00.000Z', 60_000) });
    for (let i = 0; i < 3; i++) await trail.append(sampleEntry(i));
    expect(recordsOf(file).map((record) => record.time)).toEqual(['2026-11-01T10:00:00.000Z', '2026-11-01T10:01:00.000Z', '2026-11-01T10:02:00.000Z']);
  });
});
