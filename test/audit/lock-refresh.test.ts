import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LockError, takeLock } from '../../src/audit/lock.js';
import { setStaleWindowForTests, STALE_AFTER_MS } from '../../src/audit/lockRefresh.js';
import { tempDir, writtenText } from './helpers.js';

/**
 * A live holder keeps its lock young however long it holds; only a holder that is gone or hung ages
 * out. The stale window is shortened (in this process and in the children) so a hold can outlast it
 * in seconds; the 0.1.0 test runs at the real 10 s, since 0.1.0's code has no such knob.
 */

/** Shortened, with room for a loaded machine's pauses between refreshes (they come every WINDOW_MS / 5). */
const WINDOW_MS = 2_000;
const children: ChildProcess[] = [];

afterEach(() => {
  setStaleWindowForTests(STALE_AFTER_MS);
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** Runs test/audit/fixtures/<name> under tsx with `args`, its stdout piped; killed after the test. */
function spawnFixture(name: string, args: Array<string | number>, env: NodeJS.ProcessEnv = process.env): ChildProcessByStdio<null, Readable, null> {
  const script = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args.map(String)], { stdio: ['ignore', 'pipe', 'ignore'], env });
  children.push(child);
  return child;
}

/** Everything a child writes to stdout, once it has closed. */
async function outputOf(child: ChildProcessByStdio<null, Readable, null>): Promise<string> {
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  await new Promise((resolve) => child.on('close', resolve));
  return stdout;
}

/** The first word of each mark a fixture wrote ("taken", "leaving"). */
function marksIn(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line !== '').map((line) => line.split(' ')[0] ?? '');
}

async function linesOf(file: string, expected: RegExp): Promise<string[]> {
  for (let i = 0; ; i++) {
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((line) => line !== '') : [];
    if (lines.some((line) => expected.test(line)) || i === 2_000) return lines;
    await sleep(10);
  }
}

describe('a holder that holds longer than the stale window', () => {
  it('keeps its lock: another attempt waiting several windows does not take it, and release still removes it', async () => {
    setStaleWindowForTests(WINDOW_MS);
    const file = path.join(tempDir(), 'audit.jsonl');
    const first = await takeLock(file);
    const text = await writtenText(`${file}.lock`);
    const second = await takeLock(file, 3 * WINDOW_MS).catch((err: unknown) => err);
    expect(second).toBeInstanceOf(LockError);
    expect((second as LockError).failure.kind).toBe('timeout');
    // Still the first holder's lock, refreshed (its change time moved on) and released as its own.
    expect(fs.readFileSync(`${file}.lock`, 'utf8')).toBe(text);
    await first.release();
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  }, 30_000);

  it('in another process: a live holder is waited for until it releases; a hung one ages out', async () => {
    setStaleWindowForTests(WINDOW_MS);
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const run = (marks: string, mode: 'live' | 'hung', holdMs: number) => spawnFixture('hold-long.ts', [file, marks, WINDOW_MS, holdMs, mode]);

    const live = path.join(dir, 'live.marks');
    run(live, 'live', 3 * WINDOW_MS);
    expect(await linesOf(live, /^taken/)).toHaveLength(1);
    const afterLive = await takeLock(file, 30_000);
    // Got only once the holder let go: it had marked its leaving before it removed the lock.
    expect(marksIn(live)).toEqual(['taken', 'leaving']);
    await afterLive.release();

    const hung = path.join(dir, 'hung.marks');
    const hungChild = run(hung, 'hung', 60_000);
    expect(await linesOf(hung, /^taken/)).toHaveLength(1);
    expect(await writtenText(`${file}.lock`)).toMatch(new RegExp(`^${hungChild.pid} `));
    // Its pid lives on this host, so only the age rule can break its lock: it does, within the wait.
    const afterHung = await takeLock(file, 30_000);
    expect(hungChild.exitCode).toBe(null);
    expect(await writtenText(`${file}.lock`)).toMatch(new RegExp(`^${process.pid} `));
    await afterHung.release();
  }, 60_000);

  it('in another process whose thread pool is busy: its event loop runs, so its lock does not age out', async () => {
    // Slow DNS lookups or a slow disk can hold every pool thread for longer than the window; the
    // holder is live all along (its write is only queued), so breaking its lock would let its write
    // land under another's and fork the chain.
    setStaleWindowForTests(WINDOW_MS);
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const marks = path.join(dir, 'marks');
    spawnFixture('hold-pool-busy.ts', [file, marks, WINDOW_MS, 4 * WINDOW_MS], { ...process.env, UV_THREADPOOL_SIZE: '1' });
    expect(await linesOf(marks, /^taken/)).toHaveLength(1);
    const after = await takeLock(file, 60_000);
    // Got only once the holder let go: it had marked its leaving before it removed the lock.
    expect(marksIn(marks)).toEqual(['taken', 'leaving']);
    await after.release();
  }, 90_000);

  it('a waiter that stalls after reading the lock\'s time does not judge a live holder stale by it', async () => {
    // The age is the lock's time against the clock before it was read: a clock read after a pause
    // would make a lock refreshed all along look as old as the pause.
    setStaleWindowForTests(WINDOW_MS);
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    spawnFixture('hold-long.ts', [file, path.join(dir, 'marks'), WINDOW_MS, 6 * WINDOW_MS, 'live']);
    expect(await linesOf(path.join(dir, 'marks'), /^taken/)).toHaveLength(1);
    const waiter = spawnFixture('wait-stalled.ts', [file, WINDOW_MS, 1.5 * WINDOW_MS]);
    expect(await outputOf(waiter)).toBe('timeout\n');
    expect(fs.readFileSync(path.join(dir, 'marks'), 'utf8')).not.toMatch(/leaving/);
  }, 60_000);

  it('a release racing a refresh removes its own lock, and never a successor\'s', async () => {
    // A window so short that nearly every hold is refreshed, some while they release.
    setStaleWindowForTests(50);
    const file = path.join(tempDir(), 'audit.jsonl');
    for (let i = 0; i < 60; i++) {
      const lock = await takeLock(file);
      await sleep(Math.random() * 25);
      await lock.release();
      expect(fs.existsSync(`${file}.lock`), `hold ${i}`).toBe(false);
    }
    for (let i = 0; i < 20; i++) {
      const lock = await takeLock(file);
      await sleep(Math.random() * 25);
      // A successor took it over in place of ours (a clean-up removed ours while we held).
      fs.unlinkSync(`${file}.lock`);
      fs.writeFileSync(`${file}.lock`, `${process.ppid} elsewhere successor`);
      await sleep(Math.random() * 25);
      await lock.release();
      expect(fs.readFileSync(`${file}.lock`, 'utf8'), `hold ${i}`).toBe(`${process.ppid} elsewhere successor`);
      fs.unlinkSync(`${file}.lock`);
    }
  }, 30_000);

  it('a lock rewritten in place under a long hold is neither refreshed any more nor removed on release', async () => {
    setStaleWindowForTests(200);
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const lockPath = `${file}.lock`;
    const lock = await takeLock(file);
    await writtenText(lockPath);
    // Refreshed first (its time moves): release would then compare against the identity the refresh took.
    expect(await refreshed(lockPath)).toBe(true);
    fs.writeFileSync(lockPath, `${process.ppid} elsewhere rewritten-in-place`);
    const rewritten = fs.statSync(lockPath).mtimeMs;
    // A second hold, taken after the rewrite: once it has been refreshed, ticks have gone over both holds.
    const witness = await takeLock(path.join(dir, 'witness.jsonl'));
    expect(await refreshed(path.join(dir, 'witness.jsonl.lock'))).toBe(true);
    expect(fs.statSync(lockPath).mtimeMs).toBe(rewritten);
    await witness.release();
    await lock.release();
    expect(fs.readFileSync(lockPath, 'utf8')).toBe(`${process.ppid} elsewhere rewritten-in-place`);
  });
});

/** Whether the lock's modification time moves on from what it is now (a refresh), within a counted wait. */
async function refreshed(lockPath: string): Promise<boolean> {
  const before = fs.statSync(lockPath).mtimeMs;
  for (let i = 0; i < 2_000; i++) {
    if (fs.statSync(lockPath).mtimeMs !== before) return true;
    await sleep(5);
  }
  return false;
}

describe('servers of release 0.1.0 judge by the same mtime', () => {
  it('a hold longer than 0.1.0\'s 10 s window is honoured by a 0.1.0 server to its deadline', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const marks = path.join(dir, 'marks');
    const lock = await takeLock(file);
    // The 0.1.0 server waits past our lock's tenth second: had the lock aged, it would have taken it.
    const child = spawnFixture('hold-0.1.0.ts', [file, 1, marks, STALE_AFTER_MS + 2_000]);
    expect(await outputOf(child)).toBe('timeout\n');
    expect(fs.existsSync(marks)).toBe(false);
    await lock.release();
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  }, 60_000);
});
