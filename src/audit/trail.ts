import * as nodeFs from 'node:fs';
import * as nodePath from 'node:path';
import { asContinuation, buildRecord, EMPTY_CHAIN, normalizeEntry, serializeRecord, type ChainPosition } from './chain.js';
import { explainOpenFailure, judgeAccess } from './access.js';
import { AuditUnavailableError, describeOsError, osErrorCode, verifyAdvice } from './errors.js';
import { nodeAuditFileSystem, readFirstRecord, readTail, type AuditFileStat, type AuditFileSystem } from './fileSystem.js';
import { auditPathProblem } from './location.js';
import { LOCK_WAIT_MS, LockError, withFileLock } from './lock.js';
import type { AuditEntry, AuditRecord, AuditSink } from './record.js';
import { chainHolds } from './verify.js';

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
 * Failure policy (fail closed):
 * - An I/O failure during an append marks the trail broken for the life of
 *   this process: a half-written line must never be followed by more records.
 * - A file whose last record does not verify, or that was truncated or
 *   replaced under the running server (other than by `audit rotate`), is
 *   broken: writes are refused until an operator has looked (`audit verify`)
 *   and moved the file aside, so the damage is not buried under new records.
 * - A file others can write, or that belongs to another user, is refused.
 * - Waiting too long for another process's lock fails that batch only:
 *   nothing was written, so the trail stays usable.
 */

export type AuditTrailStatus =
  | { state: 'ready'; path: string; nextSeq: number }
  | { state: 'broken'; path: string; reason: string };

export interface AuditTrail extends AuditSink {
  /** Absolute path of the audit file. */
  readonly path: string;
  /** Things an operator should know that do not stop the trail (a file others can read). */
  readonly warnings: readonly string[];
  /** For a start-up line on stderr; `nextSeq` is as of this process's last look at the file. */
  status(): AuditTrailStatus;
  /** Records made durable and the fdatasync calls that did it, since open. */
  syncStats(): { records: number; syncs: number };
}

export interface AuditTrailOptions {
  /** Clock for record times (tests). */
  now?: () => Date;
  /** File-system calls (tests: ENOSPC, EIO, short writes). Defaults to node:fs. */
  fileSystem?: AuditFileSystem;
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
  await trail.open();
  return trail;
}

type FileIdentity = { dev: number; ino: number; size: number };

type Broken = { reason: string; osCode: string | undefined; cause: unknown };

interface Pending {
  fields: Readonly<Record<string, unknown>>;
  resolve(record: AuditRecord): void;
  reject(error: unknown): void;
}

class FileAuditTrail implements AuditTrail {
  readonly path: string;
  readonly warnings: string[] = [];
  readonly #now: () => Date;
  readonly #fs: AuditFileSystem;
  /** The file's real path: the lock's key, so two names for one file share one chain. */
  #realPath: string;
  #broken: Broken | undefined;
  #last: ChainPosition = EMPTY_CHAIN;
  /** The file as it was right after our last look or append; any difference means someone else wrote. */
  #seen: FileIdentity | undefined;
  readonly #queue: Pending[] = [];
  #draining = false;
  #records = 0;
  #syncs = 0;

  constructor(path: string, now: () => Date, fs: AuditFileSystem) {
    this.path = path;
    this.#realPath = path;
    this.#now = now;
    this.#fs = fs;
  }

  async open(): Promise<void> {
    const problem = auditPathProblem(this.path);
    if (problem !== undefined) {
      this.#breakWith(problem, undefined);
      return;
    }
    try {
      await this.#fs.mkdir(nodePath.dirname(this.path), { recursive: true, mode: 0o700 });
      await this.#fs.close(await this.#fs.open(this.path, 'a+', 0o600)); // creates the file, so its real path exists
      this.#realPath = await nodeFs.promises.realpath(this.path).catch(() => this.path);
      try {
        // Under the lock: another server's append in progress must not look like a cut line.
        await withFileLock(this.#realPath, () => this.#withFile(async () => {}));
      } catch (err) {
        if (!(err instanceof LockError && err.failure.kind === 'timeout')) throw err;
        await this.#withFile(async () => {}); // best effort; every append re-checks under the lock anyway
      }
    } catch (err) {
      if (err instanceof AuditUnavailableError) return;
      const cause = err instanceof LockError && err.failure.kind === 'io' ? err.failure.error : err;
      this.#breakWith(`Cannot open the audit file ${this.path}: ${await explainOpenFailure(this.path, cause)}.`, cause);
    }
  }

  status(): AuditTrailStatus {
    if (this.#broken !== undefined) return { state: 'broken', path: this.path, reason: this.#broken.reason };
    return { state: 'ready', path: this.path, nextSeq: this.#last.seq + 1 };
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
      if (!this.#draining) void this.#drain();
    });
  }

  /** Writes the queue in batches, one at a time, until it is empty. */
  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, MAX_BATCH);
        try {
          const records = await this.#writeBatch(batch.map((pending) => pending.fields));
          batch.forEach((pending, index) => pending.resolve(records[index] as AuditRecord));
        } catch (err) {
          for (const pending of batch) pending.reject(err);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  async #writeBatch(batch: readonly Readonly<Record<string, unknown>>[]): Promise<AuditRecord[]> {
    if (this.#broken !== undefined) throw this.#brokenError();
    try {
      return await withFileLock(this.#realPath, () => this.#withFile((fd, file) => this.#writeLocked(fd, file, batch)));
    } catch (err) {
      if (err instanceof AuditUnavailableError) throw err;
      if (err instanceof LockError && err.failure.kind === 'timeout') {
        throw new AuditUnavailableError(
          `The audit file ${this.path} has been locked by ${err.failure.holder} for more than ${LOCK_WAIT_MS / 1000} s, so nothing was recorded.`,
          { path: this.path, cause: err },
        );
      }
      const cause = err instanceof LockError && err.failure.kind === 'io' ? err.failure.error : err;
      throw this.#breakWith(`Cannot write the audit file ${this.path}: ${describeOsError(cause)}.`, cause);
    }
  }

  async #writeLocked(fd: number, file: FileIdentity, batch: readonly Readonly<Record<string, unknown>>[]): Promise<AuditRecord[]> {
    const time = this.#now().toISOString();
    let last = this.#last;
    const records = batch.map((fields) => {
      const record = buildRecord(fields, last, time);
      last = { seq: record.seq, hash: record.hash };
      return record;
    });
    const bytes = Buffer.from(records.map((record) => `${serializeRecord(record)}\n`).join(''), 'utf8');
    let offset = 0;
    while (offset < bytes.length) {
      const written = await this.#fs.write(fd, bytes, offset, bytes.length - offset);
      if (written <= 0) throw Object.assign(new Error('the write made no progress'), { code: 'EIO' });
      offset += written;
    }
    await this.#fs.fdatasync(fd);
    if (file.size === 0) await this.#syncDirectory();
    this.#syncs += 1;
    this.#records += records.length;
    this.#last = last;
    this.#seen = { ...file, size: file.size + bytes.length };
    return records;
  }

  /** Opens the file, brings #last up to date with it, runs `fn`, closes. */
  async #withFile<T>(fn: (fd: number, file: FileIdentity) => Promise<T>): Promise<T> {
    const fd = await this.#fs.open(this.#realPath, 'a+', 0o600);
    try {
      const file = await this.#refresh(fd);
      return await fn(fd, file);
    } finally {
      // After a successful fdatasync the records are durable; a failing close must
      // not turn them into refused actions.
      await this.#fs.close(fd).catch(() => {});
    }
  }

  /**
   * Brings #last up to date with the file when it changed since our last look
   * (another process appended, or `audit rotate` started a new file). Throws
   * AuditUnavailableError, trail broken, when the file cannot be continued.
   */
  async #refresh(fd: number): Promise<FileIdentity> {
    const stat = await this.#fs.fstat(fd);
    if (!stat.isFile()) {
      // Refused rather than written to: /dev/null or a pipe would swallow the trail.
      throw this.#breakWith(`The audit file ${this.path} is not a regular file.`, undefined);
    }
    const file: FileIdentity = { dev: stat.dev, ino: stat.ino, size: stat.size };
    const seen = this.#seen;
    const sameFile = seen !== undefined && seen.dev === file.dev && seen.ino === file.ino;
    if (sameFile && seen.size === file.size) return file;
    if (!sameFile) this.#checkOwnership(stat);
    if (sameFile && file.size < seen.size) {
      throw this.#breakWith(
        `The audit file ${this.path} shrank from ${seen.size} to ${file.size} bytes while this server was running, so records were removed; ${verifyAdvice(this.path)}`,
        undefined,
      );
    }
    if (seen !== undefined && !sameFile && !(await this.#continuesOurChain(fd, file.size))) {
      throw this.#breakWith(
        `The audit file ${this.path} was replaced while this server was running, and the new file does not continue its chain; ${verifyAdvice(this.path)}`,
        undefined,
      );
    }
    const tail = await readTail(this.#fs, fd, stat.size);
    if (!tail.ok) {
      throw this.#breakWith(`The audit file ${this.path} ends with a record that does not verify (${tail.detail}); ${verifyAdvice(this.path)}`, undefined);
    }
    this.#last = tail.last;
    this.#seen = file;
    return file;
  }

  /** Whether a replaced file is what `audit rotate` leaves: its link is forgeable, so the file it names must hold our last record. */
  async #continuesOurChain(fd: number, size: number): Promise<boolean> {
    const first = await readFirstRecord(this.#fs, fd, size);
    const continuation = first === undefined ? undefined : asContinuation(first);
    if (continuation === undefined) return false;
    const { file, seq, hash } = continuation.continues;
    if (seq < this.#last.seq || nodePath.basename(file) !== file) return false;
    return chainHolds(nodePath.join(nodePath.dirname(this.#realPath), file), this.#last, { seq, hash });
  }

  /** Refuses a file others could rewrite; warns when others can read it. */
  #checkOwnership(stat: AuditFileStat): void {
    const access = judgeAccess(this.path, stat);
    if (access.refuse !== undefined) throw this.#breakWith(access.refuse, undefined);
    if (access.warn !== undefined && !this.warnings.includes(access.warn)) this.warnings.push(access.warn);
  }

  /** Makes a newly created file's directory entry durable too (best effort: not every platform allows it). */
  async #syncDirectory(): Promise<void> {
    if (this.#fs !== nodeAuditFileSystem || process.platform === 'win32') return;
    const handle = await nodeFs.promises.open(nodePath.dirname(this.#realPath), 'r').catch(() => undefined);
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
