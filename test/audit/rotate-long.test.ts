import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecord, normalizeEntry, serializeRecord, type ChainPosition } from '../../src/audit/chain.js';
import { takeLock, withFileLock } from '../../src/audit/lock.js';
import { setStaleWindowForTests, STALE_AFTER_MS } from '../../src/audit/lockRefresh.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { rotateAuditFile } from '../../src/audit/rotate.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { verifyAhead, verifyGrowth } from '../../src/audit/verifyAhead.js';
import { runAuditCommand } from '../../src/cli/audit.js';
import { readLines, sampleEntry, steppingClock, tempDir, writeLines, writeTrail } from './helpers.js';

/**
 * Rotating a trail that takes longer to verify than the lock's stale window, while another process
 * appends all along. The window is shortened here and in the child, so a few seconds outlast it.
 */

/** Short enough that verifying the big trail below outlasts it several times (about 1 s on a dev machine). */
const WINDOW_MS = 300;
/** For a hold that must outlast the window: room for a loaded machine's pauses between refreshes. */
const HOLD_WINDOW_MS = 1_000;
const fixture = fileURLToPath(new URL('./fixtures/append-until.ts', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  setStaleWindowForTests(STALE_AFTER_MS);
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/**
 * Appends `count` valid records continuing the chain of `file` (starting a trail when there is none), as
 * another server would have. Built in memory: writing them one by one through the trail would take minutes.
 */
function appendRecords(file: string, count: number): void {
  const lines = fs.existsSync(file) ? readLines(file).filter((line) => line !== '') : [];
  const last = lines.length === 0 ? undefined : (JSON.parse(lines[lines.length - 1] as string) as { seq: number; hash: string; time: string });
  let previous: ChainPosition = last === undefined ? { seq: 0, hash: '' } : { seq: last.seq, hash: last.hash };
  const start = last === undefined ? Date.now() - count - 60_000 : Date.parse(last.time) + 1;
  const more: string[] = [];
  for (let i = 0; i < count; i++) {
    const record = buildRecord(normalizeEntry(sampleEntry(i)), previous, new Date(start + i).toISOString());
    previous = { seq: record.seq, hash: record.hash };
    more.push(serializeRecord(record));
  }
  fs.appendFileSync(file, `${more.join('\n')}\n`, { mode: 0o600 });
}

/** A child appending to `file` until told to stop: its output once stopped (the auditIds it was answered for). */
function appender(file: string, windowMs: number): { pid: number; started: Promise<void>; stop: () => Promise<{ answered: string[]; failed: number }> } {
  const stopFile = `${file}.stop-${children.length}`;
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, file, String(windowMs), stopFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const started = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.startsWith('started\n')) resolve();
    });
    child.on('close', () => reject(new Error(`appender ended before its first record: ${stderr}`)));
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const stop = async () => {
    fs.writeFileSync(stopFile, '');
    expect(await closed, stderr).toBe(0);
    const lines = stdout.split('\n').filter((line) => line !== '' && line !== 'started');
    const failed = Number((lines.pop() ?? '').replace('failed ', ''));
    return { answered: lines, failed };
  };
  return { pid: child.pid ?? 0, started, stop };
}

async function verifyFiles(...files: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await runAuditCommand(['verify', ...files], {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stdout += text),
    defaultPath: () => files[0] ?? '',
    now: () => new Date(),
  });
  return { code, stdout };
}

const auditIds = (file: string) => readLines(file).map((line) => (JSON.parse(line) as Partial<AuditRecord>).auditId ?? '');

/** Waits (counted, not timed by the wall clock) until each of these appenders has a record in `file`; false if one never does. */
async function untilAppendedBy(file: string, servers: ReadonlyArray<{ pid: number }>): Promise<boolean> {
  for (let i = 0; i < 3_000; i++) {
    const ids = auditIds(file);
    if (servers.every(({ pid }) => ids.some((id) => id.startsWith(`child-${pid}-`)))) return true;
    await sleep(10);
  }
  return false;
}

describe('audit rotate of a trail that outlasts the stale window, while a server appends', () => {
  it('loses no record and leaves two files that verify end to end', async () => {
    setStaleWindowForTests(WINDOW_MS);
    const file = path.join(tempDir(), 'audit.jsonl');
    appendRecords(file, 20_000);
    const child = appender(file, WINDOW_MS);
    await child.started;
    const result = await rotateAuditFile(file);
    await untilAppendedBy(file, [child]); // the server carries on in the new file
    const { answered, failed } = await child.stop();

    expect(result.kind).toBe('rotated');
    const kept = result.kind === 'rotated' ? result.kept : '';
    const both = await verifyFiles(kept, file);
    expect(both.code, both.stdout).toBe(0);
    // Every record the server was answered for is in one of the two files, once.
    const written = [...auditIds(kept), ...auditIds(file)].filter((id) => id.startsWith('child-'));
    expect(written).toEqual(answered);
    // The server appended on both sides of the rotation, and no append was refused.
    expect(auditIds(kept).some((id) => id.startsWith('child-'))).toBe(true);
    expect(auditIds(file).some((id) => id.startsWith('child-'))).toBe(true);
    expect(failed).toBe(0);
  }, 120_000);

  it('a hold of the trail\'s lock longer than the window keeps another process\'s appends out until it ends', async () => {
    setStaleWindowForTests(HOLD_WINDOW_MS);
    const file = path.join(tempDir(), 'audit.jsonl');
    await writeTrail(file, 2);
    const child = appender(file, HOLD_WINDOW_MS);
    await child.started;
    // A long batch (a slow disk, say): the file must not change under it.
    const sizes = await withFileLock(fs.realpathSync(file), async () => {
      const before = fs.statSync(file).size;
      await sleep(3 * HOLD_WINDOW_MS);
      return [before, fs.statSync(file).size];
    });
    await sleep(200);
    const { answered } = await child.stop();
    expect(sizes[1]).toBe(sizes[0]);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true });
    expect(auditIds(file).filter((id) => id.startsWith('child-'))).toEqual(answered);
  }, 60_000);
});

describe('servers following a rotation of a large trail', () => {
  it('do not verify the whole kept file under the lock: another server\'s appends are not refused meanwhile', async () => {
    // The real window and the real 2 s wait for the lock: a trail that takes longer than that to
    // verify (about 3 s on a dev machine, more on a loaded one).
    const file = path.join(tempDir(), 'audit.jsonl');
    appendRecords(file, 100_000);
    const servers = [appender(file, STALE_AFTER_MS), appender(file, STALE_AFTER_MS)];
    await Promise.all(servers.map((server) => server.started));
    const result = await rotateAuditFile(file);
    expect(result.kind).toBe('rotated');
    // Both servers follow the rotation: each has appended in the new file.
    expect(await untilAppendedBy(file, servers)).toBe(true);
    await sleep(500);
    const outcomes = await Promise.all(servers.map((server) => server.stop()));
    const kept = result.kind === 'rotated' ? result.kept : '';
    const both = await verifyFiles(kept, file);
    expect(both.code, both.stdout).toBe(0);
    expect(outcomes.map(({ failed }) => failed)).toEqual([0, 0]);
  }, 120_000);
});

describe('an idle server following a rotation after others wrote a lot', () => {
  it('checks what others appended as an append does, not record by record under the lock', async () => {
    // The idle server last looked at a short trail; another server then wrote 100 000 records (built in
    // memory here), and the trail was rotated. Its next append follows the rotation under the lock.
    const file = path.join(tempDir(), 'audit.jsonl');
    const idle = await openAuditTrail(file);
    await idle.append(sampleEntry(0, { auditId: 'idle-0' }));
    appendRecords(file, 100_000);
    const server = appender(file, STALE_AFTER_MS);
    await server.started;
    expect((await rotateAuditFile(file)).kind).toBe('rotated');
    await sleep(200);
    expect((await idle.append(sampleEntry(1, { auditId: 'idle-1' }))).auditId).toBe('idle-1');
    await sleep(500);
    const { failed } = await server.stop();
    expect(failed).toBe(0);
  }, 120_000);
});

describe('audit rotate of a large trail that does not verify', () => {
  it('reports it without holding the lock for the verification: a server\'s appends are not refused meanwhile', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    appendRecords(file, 100_000);
    // An edit far down the file: it is found only after most of it has been read.
    const lines = readLines(file);
    const at = 90_000;
    lines[at] = (lines[at] as string).replace('"reason":"', '"reason":"edited ');
    writeLines(file, lines);
    const server = appender(file, STALE_AFTER_MS);
    await server.started;
    const result = await rotateAuditFile(file);
    await sleep(500);
    const { failed } = await server.stop();
    expect(result).toMatchObject({ kind: 'does-not-verify', result: { line: at + 1, problem: 'edited' } });
    expect(failed).toBe(0);
  }, 120_000);
});

describe('verifying ahead of the lock, and what was appended since under it', () => {
  it('a file that only grew: the same result as verifying it whole', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    await writeTrail(file, 5);
    // A record being written while it is read ahead: its line is not complete yet.
    const grown = fs.readFileSync(file);
    const more = path.join(tempDir(), 'more.jsonl');
    fs.copyFileSync(file, more);
    await writeTrail(more, 3); // continues the copy's chain
    const appended = fs.readFileSync(more).subarray(grown.length);
    fs.appendFileSync(file, appended.subarray(0, 40));
    const checkpoint = await verifyAhead(file);
    expect(checkpoint).toMatchObject({ bytes: grown.length, result: { ok: true, records: 5 } });
    fs.appendFileSync(file, appended.subarray(40));
    const whole = await verifyAuditFile(file);
    expect(whole).toMatchObject({ ok: true, records: 8 });
    expect(await verifyGrowth(file, checkpoint ?? expect.fail('no checkpoint'))).toEqual(whole);
  });

  it('a file replaced, cut, or overwritten in place by another trail is not taken on trust', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    await writeTrail(file, 4);
    const checkpoint = (await verifyAhead(file)) ?? expect.fail('no checkpoint');

    const other = path.join(dir, 'other.jsonl');
    await writeTrail(other, 6, steppingClock());
    fs.renameSync(other, path.join(dir, 'swap.jsonl'));
    // Overwritten in place (same inode) by a longer trail: its line 4 is another record.
    fs.writeFileSync(file, fs.readFileSync(path.join(dir, 'swap.jsonl')));
    expect(await verifyGrowth(file, checkpoint)).toBeUndefined();
    // Cut.
    fs.truncateSync(file, checkpoint.bytes - 1);
    expect(await verifyGrowth(file, checkpoint)).toBeUndefined();
    // Replaced by another file.
    fs.renameSync(path.join(dir, 'swap.jsonl'), file);
    expect(await verifyGrowth(file, checkpoint)).toBeUndefined();
  });

  it('a line appended since that does not chain is not taken on trust', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    await writeTrail(file, 3);
    const checkpoint = (await verifyAhead(file)) ?? expect.fail('no checkpoint');
    fs.appendFileSync(file, '{"seq":4}\n');
    expect(await verifyGrowth(file, checkpoint)).toBeUndefined();
  });

  it('what was appended while rotate waited for the lock is verified under it: a bad line is reported, and nothing moves', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    await writeTrail(file, 3);
    const lock = await takeLock(fs.realpathSync(file));
    const rotating = rotateAuditFile(file);
    // Rotate has verified ahead by now and waits for the lock (on a machine too loaded for that, the line is
    // reported ahead of the lock instead, with the same result: the test above checks verifyGrowth alone).
    await sleep(200);
    fs.appendFileSync(file, '{"seq":4}\n');
    lock.idle();
    await lock.release();
    const result = await rotating;
    expect(result).toMatchObject({ kind: 'does-not-verify', result: { line: 4 } });
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['audit.jsonl']);
  });
});
