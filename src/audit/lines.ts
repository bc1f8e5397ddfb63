import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** One line of an audit file (1-based number), decoded, or why it could not be. */
export type Line = { number: number; terminated: boolean } & ({ text: string } | { unreadable: string });

/** Lines longer than this are not records; they are reported, not buffered. */
export const MAX_LINE_BYTES = 1024 * 1024;

const READ_CHUNK_BYTES = 64 * 1024;

/**
 * Streams the lines of the file at `path`, one chunk in memory at a time.
 * Rejects with the file-system error when the file cannot be read (ENOENT…).
 */
export async function* readFileLines(path: string): AsyncGenerator<Line, void, undefined> {
  const handle = await openToRead(path);
  try {
    const splitter = new LineSplitter();
    const lines: Line[] = [];
    for (;;) {
      const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      splitter.push(buffer.subarray(0, bytesRead), lines);
      yield* lines;
      lines.length = 0;
    }
    splitter.end(lines);
    yield* lines;
  } finally {
    await handle.close();
  }
}

/**
 * Opens the file at `path` to read it through. Opened without waiting and refused unless it is a regular
 * file (a directory still fails at its first read, EISDIR): a FIFO under a trail's name, or under the
 * name a `continued` record gives, would otherwise hold the read until a writer comes, and with it
 * the lock it is read under, which its holder keeps fresh.
 */
export async function openToRead(path: string): Promise<FileHandle> {
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  let stat;
  try {
    stat = await handle.stat();
  } catch (err) {
    await handle.close();
    throw err;
  }
  if (stat.isFile() || stat.isDirectory()) return handle;
  await handle.close();
  throw new Error('the path is not a regular file (a FIFO, a device or a socket)');
}

/** The lines of content held in memory. */
export function splitContent(content: Uint8Array | string): Line[] {
  const splitter = new LineSplitter();
  const lines: Line[] = [];
  splitter.push(typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content), lines);
  splitter.end(lines);
  return lines;
}

/** Splits byte chunks on "\n" only (a stray "\r" stays in the line and makes it malformed). */
export class LineSplitter {
  #parts: Buffer[] = [];
  #bytes = 0;
  #tooLong = false;
  #number = 0;
  // ignoreBOM: keep a byte-order mark in the text, so an inserted one is reported.
  readonly #decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  push(chunk: Buffer, out: Line[]): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) {
        this.#add(chunk.subarray(start));
        return;
      }
      this.#add(chunk.subarray(start, newline));
      out.push(this.#take(true));
      start = newline + 1;
    }
  }

  end(out: Line[]): void {
    if (this.#bytes > 0 || this.#tooLong) out.push(this.#take(false));
  }

  #add(bytes: Buffer): void {
    if (this.#tooLong || bytes.length === 0) return;
    if (this.#bytes + bytes.length > MAX_LINE_BYTES) {
      this.#tooLong = true;
      this.#parts = [];
      return;
    }
    this.#parts.push(Buffer.from(bytes)); // copy: the chunk's memory is not ours to keep
    this.#bytes += bytes.length;
  }

  #take(terminated: boolean): Line {
    const number = ++this.#number;
    const parts = this.#parts;
    const tooLong = this.#tooLong;
    this.#parts = [];
    this.#bytes = 0;
    this.#tooLong = false;
    if (tooLong) return { number, terminated, unreadable: `the line is longer than ${MAX_LINE_BYTES / 1024 / 1024} MiB` };
    try {
      return { number, terminated, text: this.#decoder.decode(Buffer.concat(parts)) };
    } catch {
      return { number, terminated, unreadable: 'the line is not valid UTF-8' };
    }
  }
}

