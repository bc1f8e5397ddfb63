import * as nodeFs from 'node:fs';
import * as nodePath from 'node:path';
import { buildRecord, checkRecordLine, EMPTY_CHAIN, normalizeEntry, serializeRecord, type ChainPosition } from './chain.js';
import { AuditUnavailableError, describeOsError, osErrorCode } from './errors.js';
import { LOCK_WAIT_MS, LockError, withFileLock } from './lock.js';
import type { AuditEntry, AuditRecord, AuditSink } from './record.js';

/**
 * The append-only, hash-chained audit file (JSON Lines).
 *
 * `append` is synchronous and durable: when it returns, the line is on disk
 * (fdatasync). When it cannot be, it throws AuditUnavailableError and the caller
 * must not perform the PingOne write it was about to record.
 *
 * Failure policy (fail closed):
 * - An I/O failure during an append marks the trail broken for the life of
 *   this process: a half-written line must never be followed by more records.
 *   A restart re-reads the file and reports the damage.
 * - A file whose last record does not verify (cut mid-line, edited, garbage)
 *   opens broken: the trail refuses to write until an operator has run
 *   `audit verify` and moved the file aside, so the damage is looked at
 *   instead of being buried under new records. A fresh file starts at seq 1.
 * - Waiting too long for another process's lock fails that one append only:
 *   nothing was written, so the trail stays usable.
 */

export type AuditTrailStatus =
  | { state: 'ready'; path: string; nextSeq: number }
  | { state: 'broken'; path: string; reason: string };

export interface AuditTrail {
  /** Absolute path of the audit file. */
  readonly path: string;
  /** Appends one record, durably. Throws AuditUnavailableError when it cannot. */
  append(entry: AuditEntry): AuditRecord;
  /** For a start-up line on stderr; `nextSeq` is as of this process's last look at the file. */
  status(): AuditTrailStatus;
}

/** The file-system calls the trail makes; replaceable to inject faults in tests. */
export interface AuditFileSystem {
  mkdirSync(path: string, options: { recursive: true; mode: number }): unknown;
  openSync(path: string, flags: string, mode: number): number;
  fstatSync(fd: number): { size: number; dev: number; ino: number; isFile(): boolean };
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fdatasyncSync(fd: number): void;
  closeSync(fd: number): void;
}

export interface AuditTrailOptions {
  /** Clock for record times (tests). */
  now?: () => Date;
  /** File-system calls (tests: ENOSPC, EIO, short writes). Defaults to node:fs. */
  fileSystem?: AuditFileSystem;
}

/** How much of the file's end is read to find the last record. Records are far smaller. */
export const TAIL_BYTES = 64 * 1024;

/**
 * Opens (creating if needed, with the directory) the audit trail at `path`.
 * Never throws for file-system problems: an unusable location or a damaged
 * file gives a trail whose `status()` is `broken` and whose `append` throws.
 */
export function openAuditTrail(path: string, options: AuditTrailOptions = {}): AuditTrail {
  return new FileAuditTrail(nodePath.resolve(path), options.now ?? (() => new Date()), options.fileSystem ?? nodeFs);
}

type TailRead = { ok: true; last: ChainPosition } | { ok: false; detail: string };

type FileIdentity = { dev: number; ino: number; size: number };

type Broken = { reason: string; osCode: string | undefined; cause: unknown };

class FileAuditTrail implements AuditTrail {
  readonly path: string;
  readonly #now: () => Date;
  readonly #fs: AuditFileSystem;
  #broken: Broken | undefined;
  #last: ChainPosition = EMPTY_CHAIN;
  /** The file as it was right after our last look or append; any difference means someone else wrote. */
  #seen: FileIdentity | undefined;

  constructor(path: string, now: () => Date, fs: AuditFileSystem) {
    this.path = path;
    this.#now = now;
    this.#fs = fs;
    const look = (): void => {
      const fd = fs.openSync(path, 'a+', 0o600);
      try {
        this.#refresh(fd);
      } finally {
        this.#closeQuietly(fd);
      }
    };
    try {
      fs.mkdirSync(nodePath.dirname(path), { recursive: true, mode: 0o700 });
      try {
        // Under the lock: another server's append in progress must not look like a cut line.
        withFileLock(path, look);
      } catch (err) {
        if (!(err instanceof LockError && err.failure.kind === 'timeout')) throw err;
        look(); // best effort; every append re-checks under the lock anyway
      }
    } catch (err) {
      if (!(err instanceof AuditUnavailableError)) {
        const cause = err instanceof LockError && err.failure.kind === 'io' ? err.failure.error : err;
        this.#breakWith(`cannot open the audit trail ${path}: ${describeOsError(cause)}`, cause);
      }
    }
  }

  status(): AuditTrailStatus {
    if (this.#broken !== undefined) return { state: 'broken', path: this.path, reason: this.#broken.reason };
    return { state: 'ready', path: this.path, nextSeq: this.#last.seq + 1 };
  }

  append(entry: AuditEntry): AuditRecord {
    this.#throwIfBroken();
    let fields: Record<string, unknown>;
    try {
      fields = normalizeEntry(entry);
    } catch (err) {
      // A caller bug, not a trail problem: refuse this record, keep the trail.
      throw new AuditUnavailableError(`cannot record this audit entry: ${(err as Error).message}`, {
        path: this.path,
        cause: err,
      });
    }
    try {
      return withFileLock(this.path, () => this.#appendLocked(fields));
    } catch (err) {
      if (err instanceof AuditUnavailableError) throw err;
      if (err instanceof LockError && err.failure.kind === 'timeout') {
        throw new AuditUnavailableError(
          `cannot write the audit trail ${this.path}: ${err.failure.holder} has held its lock for more than ${LOCK_WAIT_MS / 1000} s`,
          { path: this.path, cause: err },
        );
      }
      const cause = err instanceof LockError && err.failure.kind === 'io' ? err.failure.error : err;
      throw this.#breakWith(`cannot write the audit trail ${this.path}: ${describeOsError(cause)}`, cause);
    }
  }

  #appendLocked(fields: Readonly<Record<string, unknown>>): AuditRecord {
    const fs = this.#fs;
    const fd = fs.openSync(this.path, 'a+', 0o600);
    try {
      const file = this.#refresh(fd);
      const record = buildRecord(fields, this.#last, this.#now().toISOString());
      const bytes = Buffer.from(`${serializeRecord(record)}\n`, 'utf8');
      let offset = 0;
      while (offset < bytes.length) {
        const written = fs.writeSync(fd, bytes, offset, bytes.length - offset);
        if (written <= 0) throw Object.assign(new Error('the write made no progress'), { code: 'EIO' });
        offset += written;
      }
      fs.fdatasyncSync(fd);
      if (file.size === 0) this.#syncDirectory();
      this.#last = { seq: record.seq, hash: record.hash };
      this.#seen = { ...file, size: file.size + bytes.length };
      return record;
    } finally {
      // After a successful fdatasync the record is durable; a failing close must
      // not turn it into a refused action.
      this.#closeQuietly(fd);
    }
  }

  /**
   * Brings #last up to date with the file when it changed since our last look
   * (another process appended, or the file was rotated). Throws
   * AuditUnavailableError, trail broken, when the file cannot be continued.
   */
  #refresh(fd: number): FileIdentity {
    const stat = this.#fs.fstatSync(fd);
    if (!stat.isFile()) {
      // Refused rather than written to: /dev/null or a pipe would swallow the trail.
      throw this.#breakWith(`cannot write the audit trail ${this.path}: it is not a regular file`, undefined);
    }
    const file: FileIdentity = { dev: stat.dev, ino: stat.ino, size: stat.size };
    const seen = this.#seen;
    if (seen !== undefined && seen.dev === file.dev && seen.ino === file.ino) {
      if (seen.size === file.size) return file;
      // Same file, smaller but not emptied (emptying is how copytruncate rotates):
      // records are gone, which the chain alone could not reveal.
      if (file.size > 0 && file.size < seen.size) {
        throw this.#breakWith(
          `the audit trail ${this.path} shrank from ${seen.size} to ${file.size} bytes while this server was running: records were removed. ${verifyAdvice(this.path)}`,
          undefined,
        );
      }
    }
    const tail = this.#readTail(fd, stat.size);
    if (!tail.ok) {
      throw this.#breakWith(
        `the audit trail ${this.path}: its last record does not verify (${tail.detail}). ${verifyAdvice(this.path)}`,
        undefined,
      );
    }
    this.#last = tail.last;
    this.#seen = file;
    return file;
  }

  /** Reads at most TAIL_BYTES from the end and checks the last line on its own. */
  #readTail(fd: number, size: number): TailRead {
    if (size === 0) return { ok: true, last: EMPTY_CHAIN };
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const read = this.#fs.readSync(fd, buffer, filled, length - filled, size - length + filled);
      if (read <= 0) break;
      filled += read;
    }
    if (filled < length) return { ok: false, detail: 'the file changed while it was being read' };
    if (buffer[length - 1] !== 0x0a) return { ok: false, detail: 'the file does not end with a newline: the last write was cut short' };
    const start = buffer.lastIndexOf(0x0a, length - 2) + 1;
    if (start === 0 && length < size) return { ok: false, detail: `the last line is longer than ${TAIL_BYTES / 1024} KiB` };
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buffer.subarray(start, length - 1));
    } catch {
      return { ok: false, detail: 'the last line is not valid UTF-8' };
    }
    const check = checkRecordLine(text);
    if (!check.ok) return { ok: false, detail: check.message };
    return { ok: true, last: { seq: check.record.seq, hash: check.record.hash } };
  }

  /** Makes a newly created file's directory entry durable too (best effort: not every platform allows it). */
  #syncDirectory(): void {
    if (this.#fs !== nodeFs || process.platform === 'win32') return;
    let fd: number | undefined;
    try {
      fd = nodeFs.openSync(nodePath.dirname(this.path), 'r');
      nodeFs.fsyncSync(fd);
    } catch {
      // Some file systems refuse fsync on a directory; the file itself is synced.
    } finally {
      if (fd !== undefined) this.#closeQuietly(fd);
    }
  }

  #throwIfBroken(): void {
    const broken = this.#broken;
    if (broken !== undefined) {
      throw new AuditUnavailableError(broken.reason, { path: this.path, osCode: broken.osCode, cause: broken.cause });
    }
  }

  #breakWith(reason: string, cause: unknown): AuditUnavailableError {
    const osCode = osErrorCode(cause);
    this.#broken ??= { reason, osCode, cause };
    return new AuditUnavailableError(reason, { path: this.path, osCode, cause });
  }

  #closeQuietly(fd: number): void {
    try {
      this.#fs.closeSync(fd);
    } catch {
      // the failure being reported matters more
    }
  }
}

function verifyAdvice(path: string): string {
  return `Run \`pingone-helpdesk-mcp audit verify ${shellQuote(path)}\`, then move the file aside to start a new trail.`;
}

/** The path as one shell word, for a command line the operator can paste. */
function shellQuote(path: string): string {
  if (!/[\s"'$`!&|;<>()*?#~]/.test(path)) return path;
  if (process.platform === 'win32') return `"${path}"`;
  return `'${path.replace(/'/g, `'\\''`)}'`;
}

/** The trail as the tools see it. Appends still run synchronously inside; the contract is asynchronous. */
export function asAuditSink(trail: AuditTrail): AuditSink {
  return { append: async (entry) => trail.append(entry), status: () => trail.status() };
}
