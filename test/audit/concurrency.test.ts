import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { readLines, sampleEntry, tempDir } from './helpers.js';

const fixture = fileURLToPath(new URL('./fixtures/append-many.ts', import.meta.url));

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('two processes sharing one audit file', () => {
  it('interleave 50 + 50 appends into one gap-free, verifying chain', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const trail = await openAuditTrail(file);
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, file, '50'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));

    // Start once the child is writing, so the two really overlap.
    const deadline = Date.now() + 15_000;
    while (readLines(file).filter((line) => line !== '').length === 0 && Date.now() < deadline) await sleep(10);
    for (let i = 0; i < 50; i++) {
      await trail.append(sampleEntry(i, { actor: { osUser: 'parent', host: 'desk-01' } }));
      await sleep(Math.random() * 3);
    }
    expect(await exited, stderr).toBe(0);

    const records = readLines(file).map((line) => JSON.parse(line) as AuditRecord);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(records.filter((r) => r.actor.osUser === 'parent')).toHaveLength(50);
    expect(records.filter((r) => r.actor.osUser === 'child')).toHaveLength(50);
    // Interleaved, not one block after the other.
    const switches = records.filter((r, i) => i > 0 && records[i - 1]?.actor.osUser !== r.actor.osUser).length;
    expect(switches).toBeGreaterThan(2);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 100 });
  }, 30_000);
});
