import * as nodeFs from 'node:fs';
import * as nodePath from 'node:path';
import { buildRecord, normalizeEntry, serializeRecord, type ChainPosition } from './chain.js';
import { explainOpenFailure } from './access.js';
import { AuditUnavailableError, describeOsError, isOutOfDescriptors, osErrorCode } from './errors.js';
import { nodeAuditFileSystem, type AuditFileSystem } from './fileSystem.js';
import { auditPathProblem } from './location.js';
import { LOCK_WAIT_MS, LockError, takeLock, type HeldLock } from './lock.js';
import type { AuditEntry, AuditRecord, AuditSink } from './record.js';
import { FileRefusal, TrailFile } from './trailFile.js';

export type { AuditFileSystem } from './fileSystem.js';
export { nodeAuditFileSystem, TAIL_BYTES } from './fileSystem.js';

/**
 * The append-only, hash-chained audit file (JSON Lines).
 *
 * `append` resolves once the record is on disk (fdatasync). When it cannot be,
 * it rejects with AuditUnavailableError and the caller must not perform the
 * PingOne write it was about to record. Nothing here waits on the event loop.
 *
 * Group commit: appends are queued in order; records that arrive while a
 * write + fdatasync is in flight are written and synced together in the next
 * one, each keeping its place in the chain, and each caller is answered only
 * once its own record is durable. The cross-process lock (on the file's real
 * path) is held per batch.
 *
 * The file stays open between batches where that is sound (TrailFile): under
 * the lock, one stat of its path says whether anyone else changed it since.
 *
 * Failure policy (fail closed):
 * - An I/O failure during an append marks the trail broken for the life of
 *   this process: a half-written line must never be followed by more records.
 * - A file whose last record does not verify, or that was truncated or
 *   replaced under the running server (other than by `audit rotate`), is
 *   broken: writes are refused until an operator has looked (`audit verify`)
 *   and moved the file aside, so the damage is not buried under new records.
 * - A file others can write, or that belongs to another user, is refused.
 * - Waiting too long for another process's lock, or no file descriptor left
 *   to take it with, fails that batch only: nothing was written, so the
 *   trail stays usable.
 *
 * Longer than this codebase's usual ~300 lines: the steps of one append (the
 * queue, the lock, building the batch while the lock is taken, the write and
 * sync, and what each failure means) share the trail's private state, and the
 * failure policy above is easiest to check against them in one place.
 */

export type AuditTrailStatus =
  | { state: 'ready'; path: string; nextSeq: number | undefined }
  | { state: 'broken'; path: string; reason: string };

export interface AuditTrail extends AuditSink {
  /** Absolute path of the audit file. */
  readonly path: string;
  /** Things an operator should know that do not stop the trail (a file others can read). */
  readonly warnings: readonly string[];
  /**
   * Whether the trail can record (the start-up error line, `/readyz`, the write path);
   * `nextSeq` is as of this process's last look at the file, undefined while the tail
   * is yet to be verified (`verifyTail: 'first-append'`).
   */
  status(): AuditTrailStatus;
  /** Records made durable and the fdatasync calls that did it, since open. */
  syncStats(): { records: number; syncs: number };
  /**
   * Resolves once nothing is being written and the lock is released: a caller is
   * answered as soon as its record is durable, and the lock goes just behind. For
   * tests and benchmarks that look at the lock; a shutdown needs nothing of it (an
   * exit removes an idle lock, see lock.ts).
   */
  whenIdle(): Promise<void>;
}

export interface AuditTrailOptions {
  /** Clock for record times (tests). */
  now?: () => Date;
  /** File-system calls (tests: ENOSPC, EIO, short writes). Defaults to node:fs. */
  fileSystem?: AuditFileSystem;
  /**
   * When the last record's hash is checked: at open (default: a damaged tail shows
   * in `status()` right away), or under the lock of the first append, before anything
   * is written (a faster start-up; the path, owner and mode are checked at open either way).
   */
  verifyTail?: 'open' | 'first-append';
}

/** A batch that failed before its first byte was written (the file could not be opened). */
class NothingWritten extends Error {
  constructor(override readonly cause: unknown) {
    super('nothing was written', { cause });
  }
}

/** Most records written by one write + fdatasync; bounds a batch's memory and latency. */
const MAX_BATCH = 512;

/**
 * Opens (creating if needed, with the directory) the audit trail at `path`.
 * Never rejects for file-system problems: an unusable location or a damaged
 * file gives a trail whose `status()` is `broken` and whose `append` rejects.
 */
export async function openAuditTrail(path: string, options: AuditTrailOptions = {}): Promise<AuditTrail> {
  const trail = new FileAuditTrail(nodePath.resolve(path), options.now ?? (() => new Date()), options.fileSystem ?? nodeAuditFileSystem);
  await trail.open(options.verifyTail ?? 'open');
  return trail;
}

type Broken = { reason: string; osCode: string | undefined; cause: unknown };

interface Pending {
  fields: Readonly<Record<string, unknown>>;
  resolve(record: AuditRecord): void;
  reject(error: unknown): void;
}

/** A batch's records chained after `from`, and the bytes of their lines. */
interface Prepared {
  from: ChainPosition;
  records: AuditRecord[];
  bytes: Buffer;
  last: ChainPosition;
}

class FileAuditTrail implements AuditTrail {
  readonly path: string;
  readonly #now: () => Date;
  readonly #fs: AuditFileSystem;
  #file: TrailFile | undefined;
  #broken: Broken | undefined;
  readonly #queue: Pending[] = [];
  #draining: Promise<void> | undefined;
  #records = 0;
  #syncs = 0;

  constructor(path: string, now: () => Date, fs: AuditFileSystem) {
    this.path = path;
    this.#now = now;
    this.#fs = fs;
  }

  get warnings(): readonly string[] {
    return this.#file?.warnings ?? [];
  }

  async open(verifyTail: 'open' | 'first-append'): Promise<void> {
    const problem = auditPathProblem(this.path);
    if (problem !== undefined) {
      this.#breakWith(problem, undefined);
      return;
    }
    try {
      await this.#fs.mkdir(nodePath.dirname(this.path), { recursive: true, mode: 0o700 });
      const file = await TrailFile.open(this.path, this.#fs);
      this.#file = file;
      if (verifyTail === 'open') await this.#checkTail(file);
    } catch (err) {
      if (err instanceof FileRefusal) {
        this.#breakWith(err.message, undefined);
        return;
      }
      const cause = err instanceof LockError && err.failure.kind === 'io' ? err.failure.error : err;
      this.#breakWith(`Cannot open the audit file ${this.path}: ${await explainOpenFailure(this.path, cause)}.`, cause);
    }
  }

  /** Reads and checks the tail at open. */
  async #checkTail(file: TrailFile): Promise<void> {
    let lock: HeldLock | undefined;
    try {
      // Under the lock: another server's append in progress must not look like a cut line.
      lock = await takeLock(file.realPath);
    } catch (err) {
      if (!(err instanceof LockError && err.failure.kind === 'timeout')) throw err;
      // best effort without it; every append re-checks under the lock anyway
    }
    try {
      await file.current();
    } finally {
      lock?.idle(); // only reads were made under it
      await file.betweenBatches();
      await lock?.release();
    }
  }

  status(): AuditTrailStatus {
    if (this.#broken !== undefined) return { state: 'broken', path: this.path, reason: this.#broken.reason };
    const file = this.#file;
    return { state: 'ready', path: this.path, nextSeq: file?.checked === true ? file.last.seq + 1 : undefined };
  }

  syncStats(): { records: number; syncs: number } {
    return { records: this.#records, syncs: this.#syncs };
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    if (this.#broken !== undefined) return Promise.reject(this.#brokenError());
    let fields: Record<string, unknown>;
    try {
      fields = normalizeEntry(entry);
    } catch (err) {
      // A caller bug, not a trail problem: refuse this record, keep the trail.
      return Promise.reject(new AuditUnavailableError(`Cannot record this audit entry: ${(err as Error).message}.`, { path: this.path, cause: err }));
    }
    return new Promise<AuditRecord>((resolve, reject) => {
      this.#queue.push({ fields, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  async whenIdle(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  /** Writes the queue in batches, one at a time, until it is empty. Never rejects. */
  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#writeBatch(this.#queue.splice(0, MAX_BATCH));
    } finally {
      this.#draining = undefined;
    }
  }

  /**
   * Writes one batch under the lock and answers its callers as soon as their
   * records are durable (or failed); the lock is released behind that, before
   * the next batch takes it. Never rejects. A process that exits in between
   * removes its lock on the way out (lock.ts), so none is left behind that
   * others wait on.
   */
  async #writeBatch(batch: readonly Pending[]): Promise<void> {
    const answer = (outcome: { records: AuditRecord[] } | { error: unknown }) => {
      if ('records' in outcome) {
        batch.forEach((pending, index) => pending.resolve(outcome.records[index] as AuditRecord));
        return;
      }
      const error = this.#failure(outcome.error);
      for (const pending of batch) pending.reject(error);
    };
    let lock: HeldLock;
    let file: TrailFile;
    let prepared: Prepared;
    try {
      if (this.#broken !== undefined) throw this.#brokenError();
      file = this.#file as TrailFile; // set whenever the trail is not broken
      // The lock's exclusive create goes to the thread pool first; the records are built while it is
      // in flight, on the chain position last seen, and rebuilt under the lock only if that moved.
      const locking = takeLock(file.realPath);
      try {
        prepared = this.#prepare(batch, file.last);
      } catch (err) {
        await locking.then(
          (taken) => {
            taken.idle(); // nothing was written under it
            return taken.release();
          },
          () => {},
        );
        throw err;
      }
      lock = await locking;
    } catch (err) {
      answer({ error: err });
      return;
    }
    try {
      const outcome = await this.#writeLocked(file, batch, prepared).then((records) => ({ records }), (error: unknown) => ({ error }));
      // Every write and sync has returned: should the process exit now, it may remove the lock.
      lock.idle();
      answer(outcome);
    } finally {
      await file.betweenBatches();
      await lock.release();
    }
  }

  /** The error a batch's callers get: a lock timeout fails the batch only, anything else breaks the trail. */
  #failure(err: unknown): AuditUnavailableError {
    if (err instanceof AuditUnavailableError) return err;
    if (err instanceof FileRefusal) return this.#breakWith(err.message, undefined);
    if (err instanceof LockError && err.failure.kind === 'timeout') {
      return new AuditUnavailableError(
        `The audit file ${this.path} has been locked by ${err.failure.holder} for more than ${LOCK_WAIT_MS / 1000} s, so nothing was recorded.`,
        { path: this.path, cause: err },
      );
    }
    const cause = err instanceof LockError && err.failure.kind === 'io' ? err.failure.error : err instanceof NothingWritten ? err.cause : err;
    // Out of descriptors while taking the lock or opening the file (a burst of connections): nothing
    // was written, so nothing can be cut short, and the next batch may find one free.
    if ((err instanceof LockError || err instanceof NothingWritten) && isOutOfDescriptors(cause)) {
      const step = err instanceof LockError ? 'take the lock of' : 'open';
      return new AuditUnavailableError(`Cannot ${step} the audit file ${this.path}: ${describeOsError(cause)}, so nothing was recorded.`, {
        path: this.path,
        osCode: osErrorCode(cause),
        cause,
      });
    }
    // The lock's own name, when it is that name that is wrong (a directory, a symlink loop): "the path is
    // a directory" must not send the operator looking at the trail. A parent's fault is both's: the trail's.
    const lockNameAtFault = err instanceof LockError && ['EISDIR', 'ELOOP'].includes(osErrorCode(cause) ?? '');
    const what = lockNameAtFault ? `take the lock ${this.#file?.realPath ?? this.path}.lock of` : 'write';
    return this.#breakWith(`Cannot ${what} the audit file ${this.path}: ${describeOsError(cause)}.`, cause);
  }

  /**
   * The batch's records and bytes, chained after `from`. The time is the batch's, read once when it is
   * formed; a batch rebuilt because another process appended meanwhile reads the clock again, so
   * times never go back along the chain.
   */
  #prepare(batch: readonly Pending[], from: ChainPosition): Prepared {
    const time = this.#now().toISOString();
    let last = from;
    const records = batch.map(({ fields }) => {
      const record = buildRecord(fields, last, time);
      last = { seq: record.seq, hash: record.hash };
      return record;
    });
    const bytes = Buffer.from(records.map((record) => `${serializeRecord(record)}\n`).join(''), 'utf8');
    return { from, records, bytes, last };
  }

  async #writeLocked(file: TrailFile, batch: readonly Pending[], speculative: Prepared): Promise<AuditRecord[]> {
    const { fd, size } = await file.current().catch((error: unknown) => {
      throw error instanceof FileRefusal ? error : new NothingWritten(error);
    });
    const { seq, hash } = file.last;
    const { records, bytes, last } = seq === speculative.from.seq && hash === speculative.from.hash ? speculative : this.#prepare(batch, file.last);
    let offset = 0;
    while (offset < bytes.length) {
      const written = await this.#fs.write(fd, bytes, offset, bytes.length - offset);
      if (written <= 0) throw Object.assign(new Error('the write made no progress'), { code: 'EIO' });
      offset += written;
    }
    await this.#fs.fdatasync(fd);
    if (size === 0) await this.#syncDirectory(file.realPath);
    this.#syncs += 1;
    this.#records += records.length;
    file.appended(size, bytes.length, last);
    return records;
  }

  /** Makes a newly created file's directory entry durable too (best effort: not every platform allows it). */
  async #syncDirectory(realPath: string): Promise<void> {
    if (this.#fs !== nodeAuditFileSystem || process.platform === 'win32') return;
    const handle = await nodeFs.promises.open(nodePath.dirname(realPath), 'r').catch(() => undefined);
    // Some file systems refuse fsync on a directory; the file itself is synced.
    await handle?.sync().catch(() => {});
    await handle?.close().catch(() => {});
  }

  #brokenError(): AuditUnavailableError {
    const broken = this.#broken as Broken;
    return new AuditUnavailableError(broken.reason, { path: this.path, osCode: broken.osCode, cause: broken.cause });
  }

  #breakWith(reason: string, cause: unknown): AuditUnavailableError {
    this.#broken ??= { reason, osCode: osErrorCode(cause), cause };
    return new AuditUnavailableError(reason, { path: this.path, osCode: osErrorCode(cause), cause });
  }
}
