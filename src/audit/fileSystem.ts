import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { checkRecordLine, EMPTY_CHAIN, type ChainPosition } from './chain.js';

/**
 * The file-system calls the audit trail makes, all asynchronous so that no
 * disk ever holds the event loop; replaceable to inject faults in tests
 * (ENOSPC, EIO, short writes).
 */
export interface AuditFileSystem {
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown>;
  open(path: string, flags: string, mode: number): Promise<number>;
  /** Follows symbolic links, like open. */
  stat(path: string): Promise<AuditFileStat>;
  fstat(fd: number): Promise<AuditFileStat>;
  /** The file system's type number (Linux: its magic number). */
  statfs(path: string): Promise<{ type: number }>;
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  write(fd: number, buffer: Uint8Array, offset: number, length: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  close(fd: number): Promise<void>;
}

export interface AuditFileStat {
  size: number;
  dev: number;
  ino: number;
  mode: number;
  uid: number;
  /** Names (hard links) the file has. */
  nlink: number;
  isFile(): boolean;
}

const stat = promisify(fs.stat);
const fstat = promisify(fs.fstat);
const read = promisify(fs.read);
const write = promisify(fs.write);

/** node:fs, through its callback API on plain descriptors. */
export const nodeAuditFileSystem: AuditFileSystem = {
  mkdir: (path, options) => fs.promises.mkdir(path, options),
  open: promisify(fs.open) as (path: string, flags: string, mode: number) => Promise<number>,
  stat: (path) => stat(path),
  fstat: (fd) => fstat(fd),
  statfs: (path) => fs.promises.statfs(path),
  read: async (fd, buffer, offset, length, position) => (await read(fd, buffer, offset, length, position)).bytesRead,
  write: async (fd, buffer, offset, length) => (await write(fd, buffer, offset, length)).bytesWritten,
  fdatasync: promisify(fs.fdatasync),
  close: promisify(fs.close),
};

/** How much of a file's end (or start) is read to find its last (or first) record. Records are far smaller. */
export const TAIL_BYTES = 64 * 1024;

export type TailRead = { ok: true; last: ChainPosition } | { ok: false; detail: string };

/** Reads at most TAIL_BYTES from the end of the file and checks its last line on its own. */
export async function readTail(fileSystem: AuditFileSystem, fd: number, size: number): Promise<TailRead> {
  if (size === 0) return { ok: true, last: EMPTY_CHAIN };
  const length = Math.min(size, TAIL_BYTES);
  const buffer = await readExactly(fileSystem, fd, size - length, length);
  if (buffer === undefined) return { ok: false, detail: 'the file changed while it was being read' };
  if (buffer[length - 1] !== 0x0a) return { ok: false, detail: 'the file does not end with a newline: the last write was cut short' };
  const start = buffer.lastIndexOf(0x0a, length - 2) + 1;
  if (start === 0 && length < size) return { ok: false, detail: `the last line is longer than ${TAIL_BYTES / 1024} KiB` };
  const check = checkText(buffer.subarray(start, length - 1));
  if (!check.ok) return check;
  return { ok: true, last: { seq: check.record.seq, hash: check.record.hash } };
}

/** The first record of the file, checked on its own, or undefined when there is none that verifies. */
export async function readFirstRecord(fileSystem: AuditFileSystem, fd: number, size: number): Promise<Record<string, unknown> | undefined> {
  if (size === 0) return undefined;
  const buffer = await readExactly(fileSystem, fd, 0, Math.min(size, TAIL_BYTES));
  const end = buffer?.indexOf(0x0a) ?? -1;
  if (buffer === undefined || end === -1) return undefined;
  const check = checkText(buffer.subarray(0, end));
  return check.ok ? (check.record as unknown as Record<string, unknown>) : undefined;
}

async function readExactly(fileSystem: AuditFileSystem, fd: number, position: number, length: number): Promise<Buffer | undefined> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const count = await fileSystem.read(fd, buffer, filled, length - filled, position + filled);
    if (count <= 0) return undefined;
    filled += count;
  }
  return buffer;
}

type TextCheck = { ok: true; record: { seq: number; hash: string } } | { ok: false; detail: string };

function checkText(bytes: Uint8Array): TextCheck {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return { ok: false, detail: 'the last line is not valid UTF-8' };
  }
  const check = checkRecordLine(text);
  return check.ok ? { ok: true, record: check.record } : { ok: false, detail: check.message };
}
