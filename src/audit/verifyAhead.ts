import type { FileHandle } from 'node:fs/promises';
import type { ChainPosition } from './chain.js';
import { LineSplitter, openToRead, type Line } from './lines.js';
import { checkChain, type VerifiedTrail, type VerifyResult } from './verify.js';

/**
 * Verifies most of an audit file before its lock is taken, and only what was appended since under it.
 * Verifying a large trail takes seconds; under the lock, every server sharing the trail waits that long,
 * and gives up after 2 s (its calls are refused). Between rotations the file is only ever appended to,
 * so what was verified ahead still holds under the lock as long as it is the same file, no shorter, and
 * the last record verified is still in its place (the check a server makes before it appends). An edit
 * further up in that moment is not seen here, as one made just after the rotation would not be:
 * `audit verify` of the kept file shows either.
 */


/** The start of a file, verified: which file, how far (a line end), and the chain there. */
export interface Checkpoint {
  dev: number;
  ino: number;
  /** Bytes verified: up to the end of the last complete line when it was read. */
  bytes: number;
  /** The last line verified, with its newline (empty when nothing was). */
  lastLine: Buffer;
  result: VerifiedTrail;
}

const CHUNK_BYTES = 64 * 1024;

/**
 * Verifies the file's complete lines as they are now. A last line without its newline may be a record
 * being written: it is left for `verifyGrowth`. Undefined when what there is does not verify (the
 * caller verifies the whole file under the lock, for the report).
 */
export async function verifyAhead(path: string): Promise<Checkpoint | undefined> {
  const handle = await openToRead(path);
  try {
    const { dev, ino, size } = await handle.stat();
    const bytes = await endOfLastLine(handle, size);
    let lastText: string | undefined;
    const result = await checkRange(handle, 0, bytes, undefined, (line) => {
      if ('text' in line) lastText = line.text;
    });
    if (!result.ok) return undefined;
    // Decoded strictly, so encoding it again gives the bytes that were read.
    const lastLine = lastText === undefined ? Buffer.alloc(0) : Buffer.from(`${lastText}\n`, 'utf8');
    return { dev, ino, bytes, lastLine, result };
  } finally {
    await handle.close();
  }
}

/**
 * Under the lock: the whole file's verification, from `checkpoint` on. Undefined when the file is not
 * the one verified ahead, as it was (replaced, cut, its last verified record no longer in place), or
 * what was appended does not verify: the caller then verifies the whole file.
 */
export async function verifyGrowth(path: string, checkpoint: Checkpoint): Promise<VerifiedTrail | undefined> {
  const handle = await openToRead(path);
  try {
    const { dev, ino, size } = await handle.stat();
    if (dev !== checkpoint.dev || ino !== checkpoint.ino || size < checkpoint.bytes) return undefined;
    const { lastLine } = checkpoint;
    const inPlace = Buffer.alloc(lastLine.length);
    await handle.read(inPlace, 0, inPlace.length, checkpoint.bytes - lastLine.length);
    if (!inPlace.equals(lastLine)) return undefined;
    const ahead = checkpoint.result;
    const tail = await checkRange(handle, checkpoint.bytes, size, ahead.records === 0 ? undefined : ahead.last);
    if (!tail.ok) return undefined;
    if (ahead.records === 0) return tail;
    const lastTime = tail.lastTime ?? ahead.lastTime;
    return {
      ...ahead,
      records: ahead.records + tail.records,
      ...(lastTime === undefined ? {} : { lastTime }),
      last: tail.last,
    };
  } finally {
    await handle.close();
  }
}

/** Where the last line ending at or before `size` ends (0 when there is none). */
async function endOfLastLine(handle: FileHandle, size: number): Promise<number> {
  const buffer = Buffer.alloc(CHUNK_BYTES);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - CHUNK_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, end - start, start);
    const newline = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (newline !== -1) return start + newline + 1;
    end = start;
  }
  return 0;
}

/** Verifies the bytes [start, end) of the file as lines following `after` (the file's start when undefined). */
async function checkRange(handle: FileHandle, start: number, end: number, after: ChainPosition | undefined, seen?: (line: Line) => void): Promise<VerifyResult> {
  const checker = checkChain(after);
  let step = checker.next();
  const splitter = new LineSplitter();
  const lines: Line[] = [];
  const feed = () => {
    for (const line of lines) {
      seen?.(line);
      if (!step.done) step = checker.next(line);
    }
    lines.length = 0;
  };
  for (let position = start; position < end && !step.done; ) {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, end - position));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break; // cut meanwhile: what was read ends here
    position += bytesRead;
    splitter.push(buffer.subarray(0, bytesRead), lines);
    feed();
  }
  splitter.end(lines);
  feed();
  while (!step.done) step = checker.next(undefined);
  return step.value;
}
