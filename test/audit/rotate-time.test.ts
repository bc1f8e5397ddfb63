import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { buildRecord, normalizeEntry, serializeRecord } from '../../src/audit/chain.js';
import { takeLock } from '../../src/audit/lock.js';
import { runAuditCommand } from '../../src/cli/audit.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { readLines, sampleEntry, tempDir, writeTrail } from './helpers.js';

describe('audit rotate and the times along the chain', () => {
  it('a rotation that waited for the lock while a server appended does not date its continuation before that append', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    await writeTrail(file, 2);
    const real = fs.realpathSync(file);

    // A server holds the lock for its batch while `audit rotate` starts and waits for it.
    const lock = await takeLock(real);
    let stdout = '';
    const rotating = runAuditCommand(['rotate', file], {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stdout += text),
      defaultPath: () => file,
      now: () => new Date(),
    });
    await sleep(50);
    // The server's batch, dated as it is written under the lock (after the rotation was started).
    const last = JSON.parse(readLines(file).at(-1) ?? '') as { seq: number; hash: string };
    const record = buildRecord(normalizeEntry(sampleEntry(2)), { seq: last.seq, hash: last.hash }, new Date().toISOString());
    fs.appendFileSync(file, `${serializeRecord(record)}\n`);
    lock.idle();
    await lock.release();

    expect(await rotating, stdout).toBe(0);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 1 });
    const continuation = JSON.parse(readLines(file)[0] ?? '') as { seq: number; time: string };
    expect(continuation.seq).toBe(record.seq + 1);
    // Times never go back along the chain: the continuation is dated when it is written, under the lock.
    expect(Date.parse(continuation.time)).toBeGreaterThanOrEqual(Date.parse(record.time));
  });
});
