import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A short cross-process lock: `<file>.lock`, created exclusively (`wx`), holding
 * who took it. Two servers (say Claude Desktop and Claude Code) may share one
 * audit file; the lock makes "read the last record, append the next" atomic
 * between them, so seq stays gap-free and the chain stays linear. Callers key
 * it on the file's real path, so two names for one file share one lock.
 *
 * Everything is asynchronous: a server waiting for another's lock keeps
 * answering other requests (ping, reads of other calls). Waiting ends at a
 * deadline with a `timeout` failure.
 *
 * A lock is stale when its holder is a dead process on this host, or when it is
 * older than STALE_AFTER_MS (a holder on another host sharing the file, or a
 * hung one). Removing a stale lock re-reads it first and removes it only if
 * unchanged, which narrows, but cannot close, the race between two waiters
 * that both judge the same lock stale; a holder also removes the lock only
 * while it still holds its own token.
 */

export const LOCK_WAIT_MS = 2_000;
export const STALE_AFTER_MS = 10_000;

/** Tokens of the locks this process holds right now. */
const heldTokens = new Set<string>();

export type LockFailure =
  | { kind: 'timeout'; holder: string }
  | { kind: 'io'; error: unknown };

export class LockError extends Error {
  readonly failure: LockFailure;
  constructor(failure: LockFailure) {
    super(failure.kind === 'timeout' ? `lock held by ${failure.holder}` : 'lock I/O error');
    this.failure = failure;
  }
}

interface LockContent {
  pid: number;
  host: string;
}

function parseLock(text: string): LockContent | undefined {
  // "<pid> <host> <token>"
  const [pid, host] = text.split(' ');
  const pidNumber = Number(pid);
  if (!Number.isSafeInteger(pidNumber) || pidNumber <= 0 || host === undefined) return undefined;
  return { pid: pidNumber, host };
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Whether the lock at `path` (whose text is `text`) may be removed. */
async function isStale(path: string, text: string, host: string): Promise<boolean> {
  let ageMs: number;
  try {
    ageMs = Date.now() - (await fs.stat(path)).mtimeMs;
  } catch {
    return false; // gone already: the next attempt will simply take it
  }
  if (ageMs > STALE_AFTER_MS) return true;
  const holder = parseLock(text);
  // A lock being written right now may still be empty; give it the age rule.
  if (holder === undefined) return false;
  if (holder.host !== host) return false;
  // Our own pid but not a lock we hold: left by an earlier process that had the
  // same pid (common in containers, where the server is often pid 1).
  if (holder.pid === process.pid) return !heldTokens.has(text);
  return !isProcessAlive(holder.pid);
}

/** Takes `<file>.lock`, waiting at most `waitMs`. Throws LockError when it cannot. */
async function acquire(lockPath: string, token: string, host: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  let delay = 1;
  for (;;) {
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(lockPath, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new LockError({ kind: 'io', error: err });
    }
    if (handle !== undefined) {
      try {
        await handle.writeFile(token);
      } catch (err) {
        await handle.close().catch(() => {});
        await fs.unlink(lockPath).catch(() => {});
        throw new LockError({ kind: 'io', error: err });
      }
      await handle.close().catch(() => {});
      heldTokens.add(token);
      return;
    }
    let text: string | undefined;
    try {
      text = await readIfExists(lockPath);
    } catch (err) {
      throw new LockError({ kind: 'io', error: err });
    }
    if (text === undefined) continue; // released between our open and read
    if ((await isStale(lockPath, text, host)) && (await readIfExists(lockPath).catch(() => undefined)) === text) {
      await fs.unlink(lockPath).catch(() => {});
      continue;
    }
    if (Date.now() >= deadline) {
      const holder = parseLock(text);
      throw new LockError({
        kind: 'timeout',
        holder: holder === undefined ? 'another process' : `process ${holder.pid} on ${holder.host}`,
      });
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 20);
  }
}

/** Runs `fn` while holding `<file>.lock`. Throws LockError when the lock cannot be taken within `waitMs`. */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, waitMs = LOCK_WAIT_MS): Promise<T> {
  const lockPath = `${file}.lock`;
  const host = os.hostname().replace(/\s+/g, '_') || 'unknown-host';
  const token = `${process.pid} ${host} ${randomBytes(8).toString('hex')}`;
  await acquire(lockPath, token, host, waitMs);
  try {
    return await fn();
  } finally {
    heldTokens.delete(token);
    // Only our own lock: if it was judged stale and taken over, it is no longer ours.
    try {
      if ((await readIfExists(lockPath)) === token) await fs.unlink(lockPath);
    } catch {
      // best effort: the caller's outcome is already decided
    }
  }
}
