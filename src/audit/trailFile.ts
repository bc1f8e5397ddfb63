import * as nodeFs from 'node:fs';
import * as nodePath from 'node:path';
import { asContinuation, EMPTY_CHAIN, type ChainPosition } from './chain.js';
import { judgeAccess } from './access.js';
import { osErrorCode, verifyAdvice } from './errors.js';
import { readFirstRecord, readTail, type AuditFileStat, type AuditFileSystem } from './fileSystem.js';
import { chainHolds } from './verify.js';

/**
 * The audit file as one process keeps it: open between batches, and known as
 * an inode, a size and the chain position its last record holds.
 *
 * Under the trail's lock, `current()` takes one stat of the path: while our
 * descriptor is open its inode cannot be reused, so equal numbers mean the
 * path still names our file. At the size we left it, nothing else is read. A
 * larger file was appended by another process: its tail is read and checked.
 * A smaller one was cut. Another file under the name (a rotation, or a
 * replacement) is opened and continued only when it continues our chain.
 * Whatever cannot be continued is a FileRefusal, which breaks the trail.
 *
 * Kept open only where that is known to be sound: on Linux, on a local file
 * system. A network file system (NFS, SMB, FUSE mounts…) is consistent between
 * hosts only from an open to a close, so there, as on other platforms (Windows
 * cannot rename over a file another process holds open, which `audit rotate`
 * does), the file is opened for each batch and closed after it.
 */

/** Linux magic numbers of file systems shared over a network or served by a user process. */
const NETWORK_FILE_SYSTEMS: ReadonlySet<number> = new Set([
  0x6969, // nfs
  0x517b, // smb
  0xff534d42, // cifs
  0xfe534d42, // smb2
  0x65735546, // fuse (sshfs, s3fs, rclone…)
  0x01021997, // 9p
  0x00c36400, // ceph
  0x5346414f, // afs
  0x0bd00bd0, // lustre
  0x47504653, // gpfs
  0x01161970, // gfs2
  0x7461636f, // ocfs2
  0x73757245, // coda
  0x564c, // ncp
]);

/** Whether a file on a file system of `type` may stay open between batches. */
export function mayStayOpen(platform: NodeJS.Platform, type: number | undefined): boolean {
  return platform === 'linux' && type !== undefined && !NETWORK_FILE_SYSTEMS.has(type);
}

/** The file cannot be continued, or is not one the trail may write; the message says why and what to do. */
export class FileRefusal extends Error {
  override readonly name = 'FileRefusal';
}

type FileIdentity = { dev: number; ino: number; size: number };

/** The descriptor this process has open, and which inode it is. */
type OpenFile = { fd: number; dev: number; ino: number };

export class TrailFile {
  /** Things an operator should know that do not stop the trail (a file others can read). */
  readonly warnings: string[] = [];
  /** Whether the descriptor stays open between batches (see mayStayOpen). */
  readonly keptOpen: boolean;
  /** The path as configured, for messages. */
  readonly path: string;
  /** The file's real path: the lock's key, so two names for one file share one chain. */
  readonly realPath: string;
  readonly #fs: AuditFileSystem;
  #open: OpenFile | undefined;
  /** The file as it was right after our last look or append; undefined until its tail has been checked. */
  #seen: FileIdentity | undefined;
  #last: ChainPosition = EMPTY_CHAIN;

  private constructor(path: string, realPath: string, fs: AuditFileSystem, open: OpenFile, keptOpen: boolean) {
    this.path = path;
    this.realPath = realPath;
    this.#fs = fs;
    this.#open = open;
    this.keptOpen = keptOpen;
  }

  /**
   * Opens (creating) the file and checks what can be checked without reading it:
   * a regular file, this user's, not writable by others. That it has one name, and
   * its tail, are checked by the first `current()`, under the lock: `audit rotate`
   * gives the trail a second name (the kept one) for a moment under it, and a server
   * starting then must not refuse the trail for good. Rejects with FileRefusal or
   * the OS error.
   */
  static async open(path: string, fs: AuditFileSystem): Promise<TrailFile> {
    const fd = await fs.open(path, 'a+', 0o600);
    try {
      // Independent looks, so in parallel: start-up waits for one round trip, not three.
      const [stat, realPath, type] = await Promise.all([
        fs.fstat(fd),
        nodeFs.promises.realpath(path).catch(() => path),
        process.platform === 'linux' ? fs.statfs(path).then((info) => info.type, () => undefined) : undefined,
      ]);
      const file = new TrailFile(path, realPath, fs, { fd, dev: stat.dev, ino: stat.ino }, mayStayOpen(process.platform, type));
      file.#check(stat, 'open');
      await file.betweenBatches();
      return file;
    } catch (err) {
      await fs.close(fd).catch(() => {});
      throw err;
    }
  }

  /** The last record's position, as of the last `current()` or `appended()`. */
  get last(): ChainPosition {
    return this.#last;
  }

  /** Whether the tail has been checked, so `last` is known. */
  get checked(): boolean {
    return this.#seen !== undefined;
  }

  /** Under the lock: the descriptor to append to and the file's size, with `last` brought up to date. */
  async current(): Promise<{ fd: number; size: number }> {
    const open = this.#open;
    if (open !== undefined) {
      const stat = await this.#fs.stat(this.realPath).catch((err: unknown) => {
        if (osErrorCode(err) === 'ENOENT') return undefined; // removed: opening it below makes an empty file, judged as a replacement
        throw err;
      });
      if (stat !== undefined && stat.dev === open.dev && stat.ino === open.ino) return { fd: open.fd, size: await this.#refresh(open.fd, stat) };
    }
    const fd = await this.#fs.open(this.realPath, 'a+', 0o600);
    try {
      const fresh = await this.#fs.fstat(fd);
      const size = await this.#refresh(fd, fresh);
      await this.close();
      this.#open = { fd, dev: fresh.dev, ino: fresh.ino };
      return { fd, size };
    } catch (err) {
      await this.#fs.close(fd).catch(() => {});
      throw err;
    }
  }

  /** After `bytes` ending with the record at `last` were written and synced at the end of a file of `size` bytes. */
  appended(size: number, bytes: number, last: ChainPosition): void {
    const open = this.#open;
    if (open !== undefined) this.#seen = { dev: open.dev, ino: open.ino, size: size + bytes };
    this.#last = last;
  }

  /** After a batch (and at open): closes the file unless it stays open. */
  async betweenBatches(): Promise<void> {
    if (!this.keptOpen) await this.close();
  }

  /** Closes the descriptor; the next `current()` opens the path again. A failing close refuses nothing. */
  async close(): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    if (open !== undefined) await this.#fs.close(open.fd).catch(() => {});
  }

  /** Brings `last` up to date with the file `stat` describes when it changed since our last look; returns its size. */
  async #refresh(fd: number, stat: AuditFileStat): Promise<number> {
    const seen = this.#seen;
    const sameFile = seen !== undefined && seen.dev === stat.dev && seen.ino === stat.ino;
    if (sameFile && seen.size === stat.size) return stat.size;
    if (!sameFile) this.#check(stat, 'locked');
    if (sameFile && stat.size < seen.size) {
      throw new FileRefusal(
        `The audit file ${this.path} shrank from ${seen.size} to ${stat.size} bytes while this server was running, so records were removed; ${verifyAdvice(this.path)}`,
      );
    }
    if (sameFile && !(await this.#stillEndsWithOurs(fd, seen.size))) {
      throw new FileRefusal(
        `The audit file ${this.path} was rewritten while this server was running: its record at ${seen.size} bytes is no longer our last one; ${verifyAdvice(this.path)}`,
      );
    }
    if (seen !== undefined && !sameFile && !(await this.#continuesOurChain(fd, stat.size))) {
      throw new FileRefusal(
        `The audit file ${this.path} was replaced while this server was running, and the new file does not continue its chain; ${verifyAdvice(this.path)}`,
      );
    }
    const tail = await readTail(this.#fs, fd, stat.size);
    if (!tail.ok) {
      throw new FileRefusal(`The audit file ${this.path} ends with a record that does not verify (${tail.detail}); ${verifyAdvice(this.path)}`);
    }
    this.#last = tail.last;
    this.#seen = { dev: stat.dev, ino: stat.ino, size: stat.size };
    return stat.size;
  }

  /**
   * Whether the file, grown in place, still holds our last record where we left it.
   * Another writer only appends; a file cut and refilled (`cp older.jsonl audit.jsonl`
   * keeps the inode) would otherwise be continued whenever its own tail verifies.
   */
  async #stillEndsWithOurs(fd: number, size: number): Promise<boolean> {
    const before = await readTail(this.#fs, fd, size);
    return before.ok && before.last.seq === this.#last.seq && before.last.hash === this.#last.hash;
  }

  /** Whether a replaced file is what `audit rotate` leaves: its link is forgeable, so the file it names must hold our last record. */
  async #continuesOurChain(fd: number, size: number): Promise<boolean> {
    const first = await readFirstRecord(this.#fs, fd, size);
    const continuation = first === undefined ? undefined : asContinuation(first);
    if (continuation === undefined) return false;
    const { file, seq, hash } = continuation.continues;
    if (seq < this.#last.seq || nodePath.basename(file) !== file) return false;
    const kept = nodePath.join(nodePath.dirname(this.realPath), file);
    return (await this.#grewInto(kept, { seq, hash })) || chainHolds(kept, this.#last, { seq, hash });
  }

  /**
   * Whether the kept file is the one we have open, still holding our last record where we left it, and
   * ends at `end`: what an append checks of a file others appended to, and no more. This runs under the
   * lock, which other servers wait for 2 s at most; verifying record by record what others appended
   * since our last look (the whole kept file, or a busy week of another server's records) would take
   * longer. `audit verify` of the kept file checks every record. While our descriptor is open, its inode
   * number names no other file.
   */
  async #grewInto(kept: string, end: ChainPosition): Promise<boolean> {
    const open = this.#open;
    const seen = this.#seen;
    if (open === undefined || seen === undefined || seen.dev !== open.dev || seen.ino !== open.ino) return false;
    const named = await this.#fs.stat(kept).catch(() => undefined);
    if (named === undefined || named.dev !== open.dev || named.ino !== open.ino) return false;
    const { size } = await this.#fs.fstat(open.fd);
    if (size < seen.size || !(await this.#stillEndsWithOurs(open.fd, seen.size))) return false;
    const tail = await readTail(this.#fs, open.fd, size);
    return tail.ok && tail.last.seq === end.seq && tail.last.hash === end.hash;
  }

  /** Refuses what is not a regular file (/dev/null or a pipe would swallow the trail) and a file others could rewrite; warns when others can read it. */
  #check(stat: AuditFileStat, when: 'open' | 'locked'): void {
    if (!stat.isFile()) throw new FileRefusal(`The audit file ${this.path} is not a regular file.`);
    const access = judgeAccess(this.path, stat, when);
    if (access.refuse !== undefined) throw new FileRefusal(access.refuse);
    if (access.warn !== undefined && !this.warnings.includes(access.warn)) this.warnings.push(access.warn);
  }
}
