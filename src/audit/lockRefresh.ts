import * as fsSync from 'node:fs';
import type { Stats } from 'node:fs';

/**
 * Keeps this process's long holds of the audit lock fresh. A lock is judged stale by its age (the lock
 * file's mtime) as well as by a dead holder: the age rule is what breaks the lock of a holder on
 * another host, or of a hung one. A live holder that simply holds long (`audit rotate` verifying a
 * very large trail, a batch on a slow or paused disk) must not age out: another server would then
 * remove its lock and write into the trail under it. So the holder sets its lock file's mtime to now,
 * through the descriptor it keeps open until release, every few seconds while it holds. Servers of
 * release 0.1.0 judge by the same mtime, so the refresh keeps them out too; the lock's form on disk is
 * unchanged. Only a holder that is gone, or whose event loop no longer runs, ages out.
 *
 * The touch and the stats around it are synchronous calls from the timer, not thread-pool work: a pool
 * held by slow DNS lookups or a slow disk (the holder's own write queued behind them) is a holder that
 * is live and will still write, so its lock must not age out meanwhile. Three system calls on the
 * descriptor every few seconds, for a hold older than half a tick only.
 *
 * The cost for the usual hold (one append, a few milliseconds) is nothing on the file system: one
 * process-wide, unref'd timer ticks while holds are being taken, and finds them too young to touch.
 * It stops once a tick finds nothing held and nothing taken since the one before.
 */

/** A lock whose mtime is older than this is stale, whoever holds it. The same as release 0.1.0's. */
export const STALE_AFTER_MS = 10_000;

let staleAfter = STALE_AFTER_MS;

/** The stale window in force (STALE_AFTER_MS, unless a test shortened it). */
export function staleAfterMs(): number {
  return staleAfter;
}

/**
 * Tests only: shortens the stale window (and the refresh with it) in this process, so a hold can outlast
 * it in seconds. Deliberately not reachable from configuration: a shorter window in production would
 * only let a paused holder lose its lock sooner.
 */
export function setStaleWindowForTests(ms: number): void {
  staleAfter = ms;
  stop(); // the next hold starts the timer again, at the new pace
}

/** What release compares the lock's name against: the file we created, as we last wrote or touched it. */
export type LockIdentity = Pick<Stats, 'dev' | 'ino' | 'size' | 'ctimeMs'>;

export function identityOf({ dev, ino, size, ctimeMs }: LockIdentity): LockIdentity {
  return { dev, ino, size, ctimeMs };
}

export function isSameFile(now: LockIdentity, identity: LockIdentity): boolean {
  return now.dev === identity.dev && now.ino === identity.ino && now.size === identity.size && now.ctimeMs === identity.ctimeMs;
}

/** A hold as the refresh sees it (fields of lock.ts's record of the hold). */
export interface Refreshable {
  readonly fd: number;
  /**
   * The file's identity, replaced by each refresh (touching the file changes its change time). Undefined
   * until the holder's text is written (a refresh before then touches only: the identity is taken once
   * the text lands, synchronously, so it includes any touch before it).
   */
  identity: LockIdentity | undefined;
  /** When its mtime was last set (no later than the file system's own stamp). */
  freshAt: number;
  /** Set by release before anything else: no refresh runs any more (the descriptor is about to close). */
  ending: boolean;
}

let timer: NodeJS.Timeout | undefined;
let takenSinceTick = false;
let holdsOf: () => Iterable<Refreshable> = () => [];

/** Called as a hold begins: makes sure the timer runs. A flag and a comparison when it does already. */
export function keepFresh(holds: () => Iterable<Refreshable>): void {
  takenSinceTick = true;
  if (timer !== undefined) return;
  holdsOf = holds;
  // A fifth of the window: a hold's mtime is at most ~1.5 ticks old when it is next refreshed, which
  // leaves most of the window for a busy event loop (the timer late) or a slow disk (the touch late).
  const tick = staleAfter / 5;
  timer = setInterval(() => refreshDue(tick / 2), tick);
  timer.unref();
}

function stop(): void {
  clearInterval(timer);
  timer = undefined;
}

function refreshDue(olderThanMs: number): void {
  const now = Date.now();
  let holding = false;
  for (const hold of holdsOf()) {
    holding = true;
    if (hold.ending || now - hold.freshAt < olderThanMs) continue;
    refresh(hold);
  }
  if (!holding && !takenSinceTick) stop();
  takenSinceTick = false;
}

/**
 * Sets the lock's mtime to now and takes its new identity. Only while the file is still as we left it:
 * one rewritten in place under us (no release does that) is no longer ours to vouch for, so it keeps
 * no identity (release then goes by its text) and is no longer refreshed. Synchronous (see above), so
 * nothing comes between the look, the touch and the new identity, and release never meets one half done.
 */
function refresh(hold: Refreshable): void {
  try {
    const before = hold.identity;
    if (before !== undefined && !isSameFile(fsSync.fstatSync(hold.fd), before)) {
      hold.identity = undefined;
      hold.freshAt = Number.POSITIVE_INFINITY;
      return;
    }
    const stamp = Date.now();
    fsSync.futimesSync(hold.fd, stamp / 1000, stamp / 1000);
    hold.freshAt = stamp;
    if (before !== undefined) hold.identity = identityOf(fsSync.fstatSync(hold.fd));
  } catch {
    // Tried again at the next tick; release compares by text if the identity is now out of date.
  }
}
