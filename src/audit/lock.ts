import * as fsSync from 'node:fs';
import type { Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { nodeCrypto } from '../lazyCrypto.js';
import { identityOf, isSameFile, keepFresh, staleAfterMs, type LockIdentity, type Refreshable } from './lockRefresh.js';

/**
 * (Over 300 lines: taking, judging stale, releasing and the exit hook share one
 * table of holds and one rule for "still ours"; the refresh is in lockRefresh.ts.)
 *
 * A short cross-process lock: `<file>.lock`, created exclusively (`wx`), holding
 * who took it ("<pid> <host> <nonce>"). Two servers (say Claude Desktop and
 * Claude Code) may share one audit file; the lock makes "read the last record,
 * append the next" atomic between them, so seq stays gap-free and the chain
 * stays linear. Callers key it on the file's real path, so two names for one
 * file share one lock. The form is the one release 0.1.0 uses, so servers of
 * both releases can share a file.
 *
 * Taking it waits for one operation, the exclusive create: that alone decides
 * who holds it. The holder's text is written behind it while the holder goes
 * on (the descriptor stays open until release); until the text lands a reader sees an empty
 * lock, which every release treats as one being written (only the age rule
 * applies to it).
 *
 * Taking, waiting and releasing are asynchronous: a server waiting for
 * another's lock keeps answering other requests (ping, reads of other calls).
 * Waiting ends at a deadline with a `timeout` failure. (Only the refresh of a
 * long hold is synchronous, on purpose: lockRefresh.ts.)
 *
 * A lock is stale when its holder is a dead process on this host, or when it is
 * older than STALE_AFTER_MS (a holder on another host sharing the file, or a
 * hung one). A holder keeps its lock young while it holds, however long
 * (lockRefresh.ts): only a holder that is gone or hung ages out. Removing a
 * stale lock re-reads it first and removes it only if unchanged, which
 * narrows, but cannot close, the race between two waiters that both judge the
 * same lock stale.
 *
 * Release removes the lock only while the name is still our file, however
 * young the hold. Rules alone do not keep a young lock ours: a clean-up that
 * removes it, or the residual race above, lets another take it while we hold.
 * That is one overlap; removing whatever lock is there on release would remove
 * the other's live lock, and so on back and forth, for as long as both keep
 * writing. "Still our file" is one stat of the name against the one we took
 * when our text was written: the same inode (our descriptor stays open until
 * release, so its number cannot be reused by a successor), with the same size
 * and change time (so it was not rewritten in place either; a refresh takes
 * the identity again in the same synchronous step, as touching the file changes
 * its change time); only when that does not match is the text read
 * back, four file-system round trips instead of one.
 */

export const LOCK_WAIT_MS = 2_000;

/** A lock this process holds, as the exit hook, release and the refresh see it. */
interface Held extends Refreshable {
  lockPath: string;
  /** Settles once the holder's text is written and its identity taken (see Created). */
  written: Promise<unknown>;
  /**
   * Whether an exit removes it: only once nothing it guards is in flight (`idle`), and no longer once
   * release has sent its unlink. Thread-pool work still queued at exit runs after the exit hooks, and
   * would land under the next holder's lock; such a lock stays, broken once the process is gone.
   */
  removeOnExit: boolean;
}

/** The locks this process holds right now, by token (kept until the lock is gone from the disk). */
const held = new Map<string, Held>();

/**
 * Distinguishes this process's tokens from an earlier process with the same pid;
 * a counter makes each hold unique. Drawn at the first lock, not at start-up
 * (the first draw from the system's generator costs a few hundred µs).
 */
let processNonce: string | undefined;
let holds = 0;

const openFile = promisify(fsSync.open);
const writeFile = promisify(fsSync.write) as (fd: number, text: string) => Promise<unknown>;
const closeFile = promisify(fsSync.close);

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

/** A lock this process holds; `release` never rejects. */
export interface HeldLock {
  /** Says nothing the lock guards is in flight any more: should the process exit before `release`, the exit removes the lock. */
  idle(): void;
  release(): Promise<void>;
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

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** A lock we created: its descriptor, open until release, and its identity once our text is in it. */
interface Created {
  fd: number;
  /** Settles once the text is written (or failed to be): the file's identity, undefined when it could not be read. Never rejects. */
  identity: Promise<LockIdentity | undefined>;
}

/**
 * Creates the lock; false when it exists already. Resolves once the exclusive
 * create has succeeded; the holder's text is written behind it. A lock left
 * empty by a failed write is still ours, and still removed on release.
 */
async function create(lockPath: string, token: string): Promise<Created | false> {
  let fd: number;
  try {
    fd = await openFile(lockPath, 'wx', 0o600);
  } catch (err) {
    if (code(err) === 'EEXIST') return false;
    throw err;
  }
  // The stat is synchronous, in the write's own callback: a refresh (a timer) cannot touch the file
  // between the stat and the identity being recorded, which would leave it out of date.
  const identity = writeFile(fd, token).then(
    () => statNow(fd),
    () => statNow(fd),
  );
  return { fd, identity };
}

function statNow(fd: number): LockIdentity | undefined {
  try {
    return identityOf(fsSync.fstatSync(fd));
  } catch {
    return undefined;
  }
}

/**
 * Whether `lockPath` still names the file we created: one stat against its identity, and when that does
 * not match or is not known, its text. A file system that reports a path's attributes other than its
 * descriptor's (cached or rounded: NFS, SMB, 9p) then costs a read, not a lock left behind.
 */
async function stillOurs(lockPath: string, token: string, identity: LockIdentity | undefined): Promise<boolean> {
  if (identity !== undefined) {
    let now: Stats;
    try {
      now = await fs.stat(lockPath);
    } catch (err) {
      if (code(err) === 'ENOENT') return false;
      throw err;
    }
    if (isSameFile(now, identity)) return true;
  }
  return (await readLock(lockPath)) === token;
}

/**
 * Opened without waiting: a FIFO in the lock's place (put there by mistake or to stall the trail) would
 * otherwise hold the open until a writer comes, past every deadline, and the trail's queue behind it.
 * Read so, a FIFO reads as an empty lock (one being written), and the age rule and the deadline apply.
 */
const READ_WITHOUT_WAITING = fsSync.constants.O_RDONLY | (fsSync.constants.O_NONBLOCK ?? 0);

async function readLock(lockPath: string): Promise<string | undefined> {
  try {
    const handle = await fs.open(lockPath, READ_WITHOUT_WAITING);
    try {
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    // A FIFO with a writer that has not written: as good as an empty lock.
    if (code(err) === 'EAGAIN') return '';
    throw err;
  }
}

function readLockSync(lockPath: string): string {
  const fd = fsSync.openSync(lockPath, READ_WITHOUT_WAITING);
  try {
    return fsSync.readFileSync(fd, 'utf8');
  } finally {
    fsSync.closeSync(fd);
  }
}

/** Whether the lock at `path` (whose text is `text`) may be removed. */
async function isStale(path: string, text: string, host: string): Promise<boolean> {
  let ageMs: number;
  try {
    // The clock is read before the stat: a pause of this process after it must not age a lock refreshed meanwhile.
    const now = Date.now();
    ageMs = now - (await fs.stat(path)).mtimeMs;
  } catch {
    return false; // gone already: the next attempt will simply take it
  }
  if (ageMs > staleAfterMs()) return true;
  const holder = parseLock(text);
  // A lock being written right now may still be empty; give it the age rule.
  if (holder === undefined) return false;
  if (holder.host !== host) return false;
  // Our own pid but not a lock we hold: left by an earlier process that had the
  // same pid (common in containers, where the server is often pid 1).
  if (holder.pid === process.pid) return !held.has(text);
  return !isProcessAlive(holder.pid);
}

function hostName(): string {
  return os.hostname().replace(/\s+/g, '_') || 'unknown-host';
}

/** Takes `<file>.lock`, waiting at most `waitMs`. Rejects with LockError when it cannot. */
export async function takeLock(file: string, waitMs = LOCK_WAIT_MS): Promise<HeldLock> {
  const lockPath = `${file}.lock`;
  const host = hostName();
  holds += 1;
  processNonce ??= nodeCrypto().randomBytes(6).toString('hex');
  const token = `${process.pid} ${host} ${processNonce}-${holds}`;
  const deadline = Date.now() + waitMs;
  let delay = 1;
  for (;;) {
    let taken: Created | false;
    try {
      taken = await create(lockPath, token);
    } catch (err) {
      throw new LockError({ kind: 'io', error: err });
    }
    if (taken !== false) {
      const entry: Held = {
        lockPath,
        removeOnExit: false,
        fd: taken.fd,
        written: taken.identity,
        identity: undefined,
        freshAt: Date.now(),
        ending: false,
      };
      void taken.identity.then((identity) => (entry.identity = identity));
      held.set(token, entry);
      installExitHook();
      keepFresh(heldValues);
      return { idle: () => void (entry.removeOnExit = true), release: () => release(token, entry) };
    }
    let text: string | undefined;
    try {
      text = await readLock(lockPath);
    } catch (err) {
      throw new LockError({ kind: 'io', error: err });
    }
    if (text === undefined) {
      // Released between our attempt and our read: try again at once. But a name that exists and
      // cannot be read (a dangling symlink) stays so, and must not hold the caller past its deadline.
      if (Date.now() < deadline) continue;
      throw new LockError({ kind: 'timeout', holder: 'another process' });
    }
    if ((await isStale(lockPath, text, host)) && (await readLock(lockPath).catch(() => undefined)) === text) {
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

async function release(token: string, entry: Held): Promise<void> {
  const { lockPath, fd } = entry;
  let closed: Promise<unknown> | undefined;
  const closeOnce = () => (closed ??= closeFile(fd).catch(() => {}));
  entry.ending = true;
  try {
    // The identity settled long ago (a refresh is synchronous: none is ever half done here).
    await entry.written;
    // Only our own: another may hold it now (see above).
    if (!(await stillOurs(lockPath, token, entry.identity))) return;
    // From here the unlink is ours to send: an exit must not send a second one (see Held).
    entry.removeOnExit = false;
    // Windows cannot create a name again while a removed file under it is still open: close first there.
    if (process.platform === 'win32') await closeOnce();
    await Promise.all([fs.unlink(lockPath), closeOnce()]);
  } catch {
    // best effort: the caller's outcome is already decided
  } finally {
    // A descriptor is never left open.
    await closeOnce();
    // Only now: until the link is gone, another lock of this process must not judge it stale.
    held.delete(token);
  }
}

const heldValues = (): Iterable<Held> => held.values();

let exitHookInstalled = false;

/**
 * A process that exits while it holds an idle lock (a caller is answered once
 * its record is durable, and the lock released just behind) removes it on the
 * way out, with the same check as release: others must not wait for a dead
 * holder. Synchronous, as an exit listener must be; the event loop is over by
 * then, but not the thread pool (see Held).
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [token, { lockPath, identity, removeOnExit }] of held) {
      if (!removeOnExit) continue;
      try {
        const ours = (identity !== undefined && isSameFile(fsSync.statSync(lockPath), identity)) || readLockSync(lockPath) === token;
        if (ours) fsSync.unlinkSync(lockPath);
      } catch {
        // gone already, or unreadable: nothing of ours to remove
      }
    }
  });
}

/** Runs `fn` while holding `<file>.lock`. Throws LockError when the lock cannot be taken within `waitMs`. */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, waitMs = LOCK_WAIT_MS): Promise<T> {
  const lock = await takeLock(file, waitMs);
  try {
    return await fn();
  } finally {
    lock.idle();
    await lock.release();
  }
}
