import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LockError, STALE_AFTER_MS, takeLock, withFileLock } from '../../src/audit/lock.js';
import { tempDir } from './helpers.js';

const posix = process.platform !== 'win32';

function osHost(): string {
  return os.hostname().replace(/\s+/g, '_');
}

function lockText(lockPath: string): string {
  return fs.lstatSync(lockPath).isSymbolicLink() ? fs.readlinkSync(lockPath) : fs.readFileSync(lockPath, 'utf8');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe.skipIf(!posix)('the lock is a symbolic link naming its holder', () => {
  it('taking it makes one link whose text is "<pid> <host> <nonce>"; releasing removes it', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const lock = await takeLock(file);
    const stat = fs.lstatSync(`${file}.lock`);
    expect(stat.isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(`${file}.lock`)).toMatch(new RegExp(`^${process.pid} ${osHost().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} [0-9a-f]{12}-\\d+$`));
    await lock.release();
    expect(() => fs.lstatSync(`${file}.lock`)).toThrow(/ENOENT/);
  });

  it('each hold has its own text, so a later hold is never mistaken for an earlier one', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const texts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const lock = await takeLock(file);
      texts.push(fs.readlinkSync(`${file}.lock`));
      await lock.release();
    }
    expect(new Set(texts).size).toBe(3);
  });

  it('a link naming a live holder is honoured until the deadline: LockError timeout naming it', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.symlinkSync(`${process.ppid} ${osHost()} feedface-1`, `${file}.lock`);
    const error = await takeLock(file, 300).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).failure).toEqual({ kind: 'timeout', holder: `process ${process.ppid} on ${osHost()}` });
    expect(fs.readlinkSync(`${file}.lock`)).toBe(`${process.ppid} ${osHost()} feedface-1`);
  });

  it('a link naming a dead process on this host is removed and the lock taken', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    fs.symlinkSync(`${dead} ${osHost()} deadbeef-1`, `${file}.lock`);
    const lock = await takeLock(file, 1_000);
    expect(lockText(`${file}.lock`)).toMatch(new RegExp(`^${process.pid} `));
    await lock.release();
  });

  it('a link older than STALE_AFTER_MS is removed even when its holder lives (another host, or hung)', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.symlinkSync(`${process.ppid} elsewhere cafebabe-1`, `${file}.lock`);
    const old = new Date(Date.now() - STALE_AFTER_MS - 5_000);
    fs.lutimesSync(`${file}.lock`, old, old);
    const lock = await takeLock(file, 1_000);
    expect(lockText(`${file}.lock`)).toMatch(new RegExp(`^${process.pid} `));
    await lock.release();
  });

  it('a young link of a live holder on another host is not stale', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.symlinkSync(`1 elsewhere cafebabe-1`, `${file}.lock`);
    await expect(takeLock(file, 200)).rejects.toBeInstanceOf(LockError);
    expect(fs.readlinkSync(`${file}.lock`)).toBe('1 elsewhere cafebabe-1');
  });
});

describe('a lock written by release 0.1.0 (a regular file holding the same text)', () => {
  it('is honoured while its holder lives', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.writeFileSync(`${file}.lock`, `${process.ppid} ${osHost()} feedface`);
    await expect(takeLock(file, 200)).rejects.toMatchObject({ failure: { kind: 'timeout', holder: `process ${process.ppid} on ${osHost()}` } });
    expect(fs.readFileSync(`${file}.lock`, 'utf8')).toBe(`${process.ppid} ${osHost()} feedface`);
  });

  it('is removed when its holder is dead', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    fs.writeFileSync(`${file}.lock`, `${dead} ${osHost()} deadbeef`);
    const lock = await takeLock(file, 1_000);
    expect(lockText(`${file}.lock`)).toMatch(new RegExp(`^${process.pid} `));
    await lock.release();
  });
});

describe('release', () => {
  // No one following the rules may take a live holder's lock before STALE_AFTER_MS, so a young
  // hold is released with one unlink and no read. Seen from outside: it removes whatever is there.
  it('a hold shorter than STALE_AFTER_MS is released by unlinking, without reading the lock back', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const lock = await takeLock(file);
    fs.unlinkSync(`${file}.lock`);
    fs.writeFileSync(`${file}.lock`, `${process.ppid} elsewhere not-read`);
    await lock.release();
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
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

describe('two holders in one process', () => {
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
