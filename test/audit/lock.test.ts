import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LockError, takeLock, withFileLock } from '../../src/audit/lock.js';
import { STALE_AFTER_MS } from '../../src/audit/lockRefresh.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { readLines, sampleEntry, tempDir, writtenText } from './helpers.js';

function osHost(): string {
  return os.hostname().replace(/\s+/g, '_');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the lock: a file created exclusively, naming its holder', () => {
  it('holds "<pid> <host> <nonce>" while taken, and is gone once released', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const lock = await takeLock(file);
    expect(fs.lstatSync(`${file}.lock`).isFile()).toBe(true);
    const host = osHost().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(await writtenText(`${file}.lock`)).toMatch(new RegExp(`^${process.pid} ${host} [0-9a-f]{12}-\\d+$`));
    await lock.release();
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  it('each hold has its own text, so a later hold is never mistaken for an earlier one', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const texts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const lock = await takeLock(file);
      texts.push(await writtenText(`${file}.lock`));
      await lock.release();
    }
    expect(new Set(texts).size).toBe(3);
  });

  it('a lock naming a live holder is honoured until the deadline: LockError timeout naming it', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.writeFileSync(`${file}.lock`, `${process.ppid} ${osHost()} feedface`);
    const error = await takeLock(file, 300).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).failure).toEqual({ kind: 'timeout', holder: `process ${process.ppid} on ${osHost()}` });
    expect(fs.readFileSync(`${file}.lock`, 'utf8')).toBe(`${process.ppid} ${osHost()} feedface`);
  });

  // The holder's text is written after the exclusive create: in between, the lock is empty.
  it('an empty lock is one being written: honoured, not stale, until it is older than STALE_AFTER_MS', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.writeFileSync(`${file}.lock`, '');
    await expect(takeLock(file, 300)).rejects.toMatchObject({ failure: { kind: 'timeout', holder: 'another process' } });
    expect(fs.existsSync(`${file}.lock`)).toBe(true);
    const old = new Date(Date.now() - STALE_AFTER_MS - 5_000);
    fs.utimesSync(`${file}.lock`, old, old);
    await (await takeLock(file, 1_000)).release();
  });

  it('a lock naming a dead process on this host is removed and the lock taken', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    fs.writeFileSync(`${file}.lock`, `${dead} ${osHost()} deadbeef`);
    const lock = await takeLock(file, 1_000);
    expect(await writtenText(`${file}.lock`)).toMatch(new RegExp(`^${process.pid} `));
    await lock.release();
  });

  it('a lock older than STALE_AFTER_MS is removed even when its holder lives (another host, or hung)', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.writeFileSync(`${file}.lock`, `${process.ppid} elsewhere cafebabe`);
    const old = new Date(Date.now() - STALE_AFTER_MS - 5_000);
    fs.utimesSync(`${file}.lock`, old, old);
    const lock = await takeLock(file, 1_000);
    expect(await writtenText(`${file}.lock`)).toMatch(new RegExp(`^${process.pid} `));
    await lock.release();
  });

  it('a young lock of a holder on another host is not stale', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.writeFileSync(`${file}.lock`, '1 elsewhere cafebabe');
    await expect(takeLock(file, 200)).rejects.toBeInstanceOf(LockError);
    expect(fs.readFileSync(`${file}.lock`, 'utf8')).toBe('1 elsewhere cafebabe');
  });
});

describe('servers of release 0.1.0 share the lock', () => {
  const fixture = fileURLToPath(new URL('./fixtures/hold-0.1.0.ts', import.meta.url));

  /** Runs a 0.1.0 server's lock in a child process; resolves with what it printed per attempt. */
  function run010(file: string, count: number, marks: string, waitMs: number): Promise<string[]> {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, file, String(count), marks, String(waitMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve, reject) => child.on('close', (code) => (code === 0 ? resolve(stdout.split('\n').filter((line) => line !== '')) : reject(new Error(stderr)))));
  }

  it('a 0.1.0 server and this release never hold the lock at the same time', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const marks = path.join(dir, 'marks');
    fs.writeFileSync(marks, '');
    const child = run010(file, 40, marks, 10_000);
    // Start once the child is taking the lock, so the two really overlap.
    const deadline = Date.now() + 15_000;
    while (fs.readFileSync(marks, 'utf8') === '' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 40; i++) {
      await withFileLock(file, async () => {
        fs.appendFileSync(marks, `enter ${process.pid}\n`);
        await new Promise((resolve) => setTimeout(resolve, 2));
        fs.appendFileSync(marks, `exit ${process.pid}\n`);
      }, 10_000);
    }
    expect(await child).toEqual(Array.from({ length: 40 }, () => 'ran'));
    const lines = fs.readFileSync(marks, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(160);
    // Every enter is followed by the same process's exit: no two holders at once.
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]).toMatch(/^enter /);
      expect(lines[i + 1]).toBe((lines[i] ?? '').replace('enter', 'exit'));
    }
    expect(new Set(lines.map((line) => line.split(' ')[1])).size).toBe(2);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  }, 40_000);

  it('a lock this release holds is honoured by a 0.1.0 server until its deadline', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const marks = path.join(dir, 'marks');
    const lock = await takeLock(file);
    expect(await run010(file, 1, marks, 300)).toEqual(['timeout']);
    await lock.release();
    expect(await run010(file, 1, marks, 300)).toEqual(['ran']);
  }, 30_000);
});

describe('release', () => {
  it('a young hold whose lock another process took over leaves that lock alone', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const lock = await takeLock(file);
    fs.unlinkSync(`${file}.lock`);
    fs.writeFileSync(`${file}.lock`, `${process.ppid} elsewhere successor`);
    await lock.release();
    expect(fs.readFileSync(`${file}.lock`, 'utf8')).toBe(`${process.ppid} elsewhere successor`);
  });

  it('a lock rewritten in place under a young hold is left alone: the name must still be our file as we wrote it', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const lock = await takeLock(file);
    await writtenText(`${file}.lock`);
    // Our text is in; release compares against the file as it was then (taken just behind the write).
    await new Promise((resolve) => setTimeout(resolve, 50));
    fs.writeFileSync(`${file}.lock`, `${process.ppid} elsewhere rewritten-in-place`);
    await lock.release();
    expect(fs.readFileSync(`${file}.lock`, 'utf8')).toBe(`${process.ppid} elsewhere rewritten-in-place`);
  });

  it('a lock whose attributes read differently but which still holds our text is removed on release', async () => {
    // A file system that reports a path's attributes other than its descriptor's (NFS, SMB, 9p): here a
    // touch changes the change time under the same text. Released by the text, not left to the stale rule.
    const file = path.join(tempDir(), 'audit.jsonl');
    const lock = await takeLock(file);
    await writtenText(`${file}.lock`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const later = new Date(Date.now() + 5_000);
    fs.utimesSync(`${file}.lock`, later, later);
    await lock.release();
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  it.skipIf(process.platform !== 'linux')('leaves no descriptor open, whether the lock was still ours or not', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const openLocks = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${file}.lock`);
      } catch {
        return false; // closed meanwhile
      }
    }).length;
    const ours = await takeLock(file);
    await ours.release();
    const taken = await takeLock(file);
    fs.unlinkSync(`${file}.lock`);
    fs.writeFileSync(`${file}.lock`, `${process.ppid} elsewhere successor`);
    await taken.release();
    expect(openLocks()).toBe(0);
    expect(fs.readFileSync(`${file}.lock`, 'utf8')).toBe(`${process.ppid} elsewhere successor`);
  });

  it('after a hold longer than STALE_AFTER_MS, a lock another process took over is left alone', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const lock = await takeLock(file);
    // Another waiter judged our lock stale and took it over: the lock now names them.
    fs.unlinkSync(`${file}.lock`);
    fs.writeFileSync(`${file}.lock`, `${process.ppid} elsewhere successor`);
    const now = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(now + STALE_AFTER_MS + 1_000);
    await lock.release();
    expect(fs.readFileSync(`${file}.lock`, 'utf8')).toBe(`${process.ppid} elsewhere successor`);
  });

  it('after a hold longer than STALE_AFTER_MS, our own lock is still removed', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const lock = await takeLock(file);
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() + STALE_AFTER_MS + 1_000);
    await lock.release();
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });
});

describe('a process that exits holding the lock', () => {
  const fixture = fileURLToPath(new URL('./fixtures/exit-holding.ts', import.meta.url));
  const runChild = (file: string, mode: 'append' | 'hold' | 'busy' | 'replaced') =>
    new Promise<number | null>((resolve) => spawn(process.execPath, ['--import', 'tsx', fixture, file, mode], { stdio: 'ignore' }).on('close', resolve));

  it('removes it on the way out, even when it exits the moment its append is answered', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    expect(await runChild(file, 'append')).toBe(0);
    expect(fs.readFileSync(file, 'utf8').split('\n').filter((line) => line !== '')).toHaveLength(1);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  }, 30_000);

  it('removes a lock it never released', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    expect(await runChild(file, 'hold')).toBe(0);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  }, 30_000);

  it('leaves alone a lock that is no longer its own', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    expect(await runChild(file, 'replaced')).toBe(0);
    expect(fs.readFileSync(`${file}.lock`, 'utf8')).toBe(`${process.pid} elsewhere successor`);
  }, 30_000);

  it('leaves a lock whose work may still be in flight, and a waiter on this host breaks it once the holder is gone', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    expect(await runChild(file, 'busy')).toBe(0);
    expect(fs.existsSync(`${file}.lock`)).toBe(true);
    await (await takeLock(file, 1_000)).release();
  }, 30_000);
});

// Work the thread pool still has queued when a process exits runs after its exit hooks, while it ends.
describe.skipIf(process.platform === 'win32')('a process that exits with work queued under its lock', () => {
  const fixture = fileURLToPath(new URL('./fixtures/exit-pool-busy.ts', import.meta.url));
  /** The exiting child, its exit code once it is gone, and what it wrote to stderr so far. */
  const spawnChild = (file: string, mode: 'write' | 'unlink') => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, file, mode], { env: { ...process.env, UV_THREADPOOL_SIZE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    return { child, exited, stderr: () => stderr };
  };

  it('a batch whose write is still queued keeps the lock: another server appending meanwhile stays in one chain', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const { child, exited, stderr } = spawnChild(file, 'write');
    await new Promise<void>((resolve) => child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('armed') && resolve()));
    const trail = await openAuditTrail(file);
    // Another server appends all along: while the exiting one holds the lock it waits (and may time out).
    let ended = false;
    void exited.then(() => (ended = true));
    while (!ended) {
      await trail.append(sampleEntry(2, { actor: { osUser: 'other', host: 'h' } })).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await trail.append(sampleEntry(3, { actor: { osUser: 'other', host: 'h' } }));
    expect(await exited, stderr()).toBe(1);
    const result = await verifyAuditFile(file);
    expect(result).toMatchObject({ ok: true });
    const writers = readLines(file).map((line) => (JSON.parse(line) as AuditRecord).actor.osUser);
    // Its queued write lands while it ends, or not at all; never after the other server's records.
    expect(writers.lastIndexOf('exiting'), writers.join(' ')).toBeLessThan(writers.indexOf('other'));
  }, 60_000);

  it('an unlink release sent and still queued is not doubled by the exit: the next holder keeps its lock', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const { exited, stderr } = spawnChild(file, 'unlink');
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(`${file}.lock`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
    const next = await takeLock(file, 20_000);
    const ours = fs.statSync(`${file}.lock`).ino;
    expect(await exited, stderr()).toBe(1);
    // The child is gone, its queued work with it: our lock must still be there.
    expect(fs.statSync(`${file}.lock`).ino).toBe(ours);
    await next.release();
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  }, 60_000);
});

/** How a take with a 200 ms deadline ends: taken, its failure's kind, or still waiting 5 s later. */
function takeWithin200Ms(file: string): Promise<unknown> {
  return Promise.race([
    takeLock(file, 200).then(
      () => 'taken',
      (err: unknown) => (err instanceof LockError ? err.failure.kind : 'other error'),
    ),
    new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5_000)),
  ]);
}

describe('a lock that is not a file', () => {
  // The exclusive create fails (the name exists) and reading it finds nothing (the link leads nowhere):
  // that looks like a lock released between the two, but it stays so; the deadline must still hold.
  it.skipIf(process.platform === 'win32')('a dangling symlink in its place times out at the deadline instead of retrying forever', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    fs.symlinkSync(path.join(dir, 'nowhere'), `${file}.lock`);
    expect(await takeWithin200Ms(file)).toBe('timeout');
    expect(fs.lstatSync(`${file}.lock`).isSymbolicLink()).toBe(true);
  });

  // Reading a FIFO waits for a writer that never comes: without care the read holds a thread-pool
  // thread and the append for good, past the deadline, and every later append queues behind it.
  it.skipIf(process.platform === 'win32')('a FIFO in its place times out at the deadline instead of waiting for a writer forever', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    expect(spawnSync('mkfifo', [`${file}.lock`]).status).toBe(0);
    expect(await takeWithin200Ms(file)).toBe('timeout');
  });

  it.skipIf(process.platform === 'win32')('a FIFO put there for a moment costs the trail one batch, not every append after it', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    await trail.whenIdle();
    expect(spawnSync('mkfifo', [`${file}.lock`]).status).toBe(0);
    const settled = (promise: Promise<unknown>) => promise.then(() => 'recorded', () => 'refused');
    const hung = (ms: number) => new Promise((resolve) => setTimeout(() => resolve(`no answer after ${ms} ms`), ms));
    expect(await Promise.race([settled(trail.append(sampleEntry(1))), hung(10_000)])).toBe('refused');
    fs.unlinkSync(`${file}.lock`);
    expect(await Promise.race([settled(trail.append(sampleEntry(2))), hung(10_000)])).toBe('recorded');
    expect(readLines(file)).toHaveLength(2);
  }, 30_000);
});

describe('two holders in one process', () => {
  // One removal of a live lock (a clean-up script, or the race two waiters judging one lock stale
  // can lose) lets two hold at once. That must stay one overlap: were each release to remove
  // whatever lock is there, each holder would remove the other's live lock, and every later
  // hold could overlap another for as long as both keep writing.
  it('after a held lock is removed once, the holders do not go on overlapping', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    let inside = 0;
    let overlapsAfter = 0;
    let phase: 'before' | 'removed' | 'after' = 'before';
    const worker = async (): Promise<void> => {
      for (let i = 0; i < 40; i++) {
        const lock = await takeLock(file, 5_000);
        inside += 1;
        if (inside > 1 && phase === 'after') overlapsAfter += 1;
        let hold = 5;
        const removing = phase === 'before' && i > 0;
        if (removing) {
          // The other is waiting by now: removed, our lock is theirs to take while we still hold.
          phase = 'removed';
          fs.unlinkSync(`${file}.lock`);
          hold = 100;
        }
        await new Promise((resolve) => setTimeout(resolve, hold));
        inside -= 1;
        if (removing) phase = 'after'; // the overlap the removal allowed ends with this hold
        await lock.release();
      }
    };
    await Promise.all([worker(), worker()]);
    expect(phase).toBe('after');
    expect(overlapsAfter).toBe(0);
  });

  // The second sees a lock with its own pid: it must know the lock is held, not left by an earlier process with that pid.
  it('the second waits for the first, and gets the lock once it is released', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const events: string[] = [];
    const first = await takeLock(file);
    const second = takeLock(file, 5_000).then((lock) => {
      events.push('second');
      return lock;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toEqual([]);
    events.push('first released');
    await first.release();
    await (await second).release();
    expect(events).toEqual(['first released', 'second']);
  });

  it('withFileLock runs one body at a time', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    let inside = 0;
    let most = 0;
    await Promise.all(Array.from({ length: 8 }, () => withFileLock(file, async () => {
      inside += 1;
      most = Math.max(most, inside);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inside -= 1;
    }, 5_000)));
    expect(most).toBe(1);
  });
});
