import { asContinuation, checkRecordLine, type ChainPosition } from './chain.js';
import { isOutOfDescriptors } from './errors.js';
import { readFileLines, splitContent, type Line } from './lines.js';
import type { AuditContinuation, AuditRecord } from './record.js';

/**
 * Verifies a whole audit file: every line is a record whose hash recomputes,
 * seq runs 1, 2, 3… and every prevHash is the previous record's hash.
 *
 * The first problem is reported, classified as honestly as the file allows.
 * What a hash chain alone cannot show: records removed from the END of the
 * file (what is left is still a valid chain), or a tail rewritten by someone
 * who recomputed every hash after their edit. Both need an anchor kept outside
 * the file (e.g. the last hash copied elsewhere from time to time).
 *
 * A file started by `audit rotate` opens with a `continued` record that links
 * to the last record of the previous file; it is accepted as the start of the
 * chain, and `continues` in the result says which file and record to check it
 * against (`checkContinuation` does, for `audit verify OLD NEW`).
 */

export type VerifyProblem = 'truncated' | 'malformed' | 'edited' | 'deleted' | 'reordered' | 'inserted' | 'broken-link';

export type VerifyResult =
  | {
      ok: true;
      records: number;
      firstTime?: string;
      lastTime?: string;
      /** The chain position after the last record (seq 0, hash "" for an empty file). */
      last: ChainPosition;
      /** Set when the file starts with a `continued` record. */
      continues?: AuditContinuation['continues'];
    }
  | { ok: false; line: number; problem: VerifyProblem; message: string };

/** A trail that verified, as far as it was read. */
export type VerifiedTrail = Extract<VerifyResult, { ok: true }>;

/**
 * Streams the file at `path` (any size, one chunk at a time).
 * Rejects with the file-system error when the file cannot be read (ENOENT…).
 */
export async function verifyAuditFile(path: string): Promise<VerifyResult> {
  const checker = checkChain();
  let step = checker.next();
  const lines = readFileLines(path);
  try {
    while (!step.done) {
      const next = await lines.next();
      step = checker.next(next.done === true ? undefined : next.value);
    }
    return step.value;
  } finally {
    await lines.return(undefined);
  }
}

/** Verifies a file's content held in memory (bytes or text), with the same rules as `verifyAuditFile`. */
export function verifyAuditContent(content: Uint8Array | string): VerifyResult {
  return runToEnd(splitContent(content));
}

/** Verifies lines (without their newlines), as if each were newline-terminated. */
export function verifyRecords(lines: readonly string[]): VerifyResult {
  return runToEnd(lines.map((text, index) => ({ number: index + 1, terminated: true, text })));
}

function runToEnd(lines: readonly Line[]): VerifyResult {
  const checker = checkChain();
  let index = 0;
  let step = checker.next();
  while (!step.done) step = checker.next(lines[index++]);
  return step.value;
}

type Failure = Extract<VerifyResult, { ok: false }>;

function fail(line: number, problem: VerifyProblem, message: string): Failure {
  return { ok: false, line, problem, message };
}

/** A verified record and where it is. */
interface Placed {
  line: number;
  record: AuditRecord;
}

type Parsed = { ok: true; record: AuditRecord } | Failure;

function parseLine(line: Line): Parsed {
  const text = 'text' in line ? line.text : undefined;
  const check = text === undefined ? undefined : checkRecordLine(text);
  if (!line.terminated) {
    // The writer puts a record and its newline in one write: a last line without
    // one is a write that was cut short, unless it is not even the start of a record.
    // (A cut inside a multi-byte character leaves invalid UTF-8: still a cut.)
    if (text === undefined || check?.ok === true || text.startsWith('{')) {
      return fail(line.number, 'truncated', 'the file does not end with a newline: the last record is incomplete (a write was cut short, or the file was cut)');
    }
  }
  if (check === undefined) return fail(line.number, 'malformed', 'unreadable' in line ? line.unreadable : 'unreadable line');
  if (!check.ok) return fail(line.number, check.problem, check.message);
  return check;
}

/**
 * The checker, written as a coroutine so one implementation serves both the
 * streaming file reader and in-memory input: each `yield` asks for the next
 * line and receives it, or `undefined` at the end of input.
 *
 * `after`: the chain already verified before the first line given (the records
 * of a file that has grown since, see verifyAhead.ts); the result then counts
 * only the lines given, and a failure numbers them from 1: it says whether they
 * verify, not where (verify the whole file for a report).
 */
export function* checkChain(after?: ChainPosition): Generator<void, VerifyResult, Line | undefined> {
  const lookahead: Line[] = [];
  // line -1: a record before the input, known only by its position (not the start of a file).
  let previous: (ChainPosition & { line: number; prevHash: string }) =
    after === undefined ? { seq: 0, hash: '', prevHash: '', line: 0 } : { ...after, prevHash: '', line: -1 };
  let records = 0;
  let firstTime: string | undefined;
  let lastTime: string | undefined;
  let continues: AuditContinuation['continues'] | undefined;

  for (;;) {
    const line = lookahead.shift() ?? (yield);
    if (line === undefined) {
      return {
        ok: true,
        records,
        ...(firstTime === undefined ? {} : { firstTime }),
        ...(lastTime === undefined ? {} : { lastTime }),
        last: { seq: previous.seq, hash: previous.hash },
        ...(continues === undefined ? {} : { continues }),
      };
    }
    const parsed = parseLine(line);
    if (!parsed.ok) return parsed;
    const current = parsed.record;
    if (previous.line === 0) {
      // A rotated file starts where its predecessor ended.
      const continuation = asContinuation(current as unknown as Record<string, unknown>);
      if (continuation !== undefined) {
        continues = continuation.continues;
        previous = { seq: continuation.continues.seq, hash: continuation.continues.hash, prevHash: '', line: 0 };
      }
    }
    const expected = previous.seq + 1;

    if (current.seq !== expected || current.prevHash !== previous.hash) {
      // Look one line ahead: does the chain resume right after this line?
      if (lookahead.length === 0) {
        const following = yield;
        if (following !== undefined) lookahead.push(following);
      }
      const next = lookahead[0] === undefined ? undefined : verifiedRecord(lookahead[0]);
      return yield* diagnose({ line: line.number, record: current }, previous, next, lookahead);
    }

    records += 1;
    firstTime ??= current.time;
    lastTime = current.time;
    previous = { seq: current.seq, hash: current.hash, prevHash: current.prevHash, line: line.number };
  }
}

/**
 * Checks that a verified file continues the one before it (`before`, its path
 * and last chain position, from its own verification): the result, or the failure.
 */
export function checkContinuation(before: { path: string; last: ChainPosition }, result: VerifiedTrail): VerifyResult {
  const link = result.continues;
  if (link === undefined) {
    return fail(1, 'broken-link', `this file does not start with a "continued" record, so it does not continue ${before.path}`);
  }
  if (link.seq !== before.last.seq || link.hash !== before.last.hash) {
    return fail(1, 'broken-link', `the first record continues seq ${link.seq} of ${link.file}, but the last record of ${before.path} is seq ${before.last.seq} with another hash: records are missing between the files, or a file was replaced`);
  }
  return result;
}

function verifiedRecord(line: Line): Placed | undefined {
  const parsed = parseLine(line);
  return parsed.ok ? { line: line.number, record: parsed.record } : undefined;
}

/**
 * Names the problem at `current`, which does not continue the chain after
 * `previous`. May read the rest of the input (only on failure) to tell a
 * deletion from a move.
 */
function* diagnose(
  current: Placed,
  previous: ChainPosition & { line: number; prevHash: string },
  next: Placed | undefined,
  alreadyRead: Line[],
): Generator<void, Failure, Line | undefined> {
  const { seq, prevHash } = current.record;
  const at = current.line;
  const expected = previous.seq + 1;
  const after = previous.line === 0 ? 'the start of the file' : `line ${previous.line} (seq ${previous.seq})`;

  // The chain resumes on the next line, from the record before this one.
  if (next !== undefined && next.record.seq === expected && next.record.prevHash === previous.hash) {
    if (prevHash === next.record.hash) {
      return fail(at, 'reordered', `seq ${seq} comes before seq ${next.record.seq} (line ${next.line}): the two lines were swapped`);
    }
    return fail(at, 'inserted', `this record (seq ${seq}) is not part of the chain: line ${next.line} continues from ${after}, so this line was inserted`);
  }

  if (seq <= previous.seq) {
    if (seq === previous.seq && prevHash === previous.prevHash && previous.line > 0) {
      return fail(at, 'inserted', `lines ${previous.line} and ${at} both claim seq ${seq} after the same record: one of them was inserted`);
    }
    return fail(at, 'reordered', `seq ${seq} follows seq ${previous.seq} (line ${previous.line}): records were moved or duplicated`);
  }

  if (previous.line === 0 && (current.record as unknown as Record<string, unknown>).phase === 'continued') {
    return fail(at, 'broken-link', 'the first record says it continues a previous file, but the record it names is not the one it links to: it was edited');
  }

  if (seq > expected) {
    const missing = seq - 1 === expected ? `seq ${expected}` : `seq ${expected}–${seq - 1}`;
    if (prevHash === previous.hash) {
      return fail(at, 'broken-link', `seq jumps from ${previous.seq} to ${seq} although the record links to ${after}: it was not written by this trail`);
    }
    // Records are missing here. Were they moved further down, or removed?
    for (;;) {
      const later: Line | undefined = alreadyRead.shift() ?? (yield);
      if (later === undefined) break;
      const laterSeq = quickSeq(later);
      if (laterSeq !== undefined && laterSeq >= expected && laterSeq < seq) {
        return fail(at, 'reordered', `seq ${seq} comes before seq ${laterSeq} (line ${later.number}): records were moved`);
      }
    }
    const count = seq - expected;
    return fail(at, 'deleted', `seq jumps from ${previous.seq} to ${seq} after ${after}: ${count} record${count === 1 ? '' : 's'} (${missing}) were deleted`);
  }

  if (previous.line === 0) {
    return fail(at, 'broken-link', `the first record links to a previous record (prevHash is not empty): the records before it are not in this file`);
  }
  return fail(at, 'broken-link', `prevHash does not match the hash of line ${previous.line} (seq ${previous.seq}): that record was replaced, or this one was forged`);
}

function quickSeq(line: Line): number | undefined {
  if (!('text' in line)) return undefined;
  try {
    const value: unknown = JSON.parse(line.text);
    if (typeof value === 'object' && value !== null && 'seq' in value && typeof value.seq === 'number') return value.seq;
  } catch {
    // not a record: it cannot be one of the missing ones
  }
  return undefined;
}

/**
 * Whether the file at `path` is a chain that verifies, ends at `end`, and holds
 * `record` (seq 0: starts a trail from nothing): what a running trail asks of the
 * file a `continued` record names before it follows a rotation it did not watch.
 * Anyone can write a well-formed `continued` record; only the real predecessor
 * holds the records this server wrote.
 */
export async function chainHolds(path: string, record: ChainPosition, end: ChainPosition): Promise<boolean> {
  // A file that cannot be read does not hold the chain, but running out of descriptors says nothing
  // about the file: that is for the caller to treat as passing, not as a replaced trail.
  const result = await verifyAuditFile(path).catch((err: unknown) => {
    if (isOutOfDescriptors(err)) throw err;
    return undefined;
  });
  if (result?.ok !== true || result.last.seq !== end.seq || result.last.hash !== end.hash) return false;
  if (record.seq === 0) return result.continues === undefined;
  if (result.continues?.seq === record.seq) return result.continues.hash === record.hash;
  for await (const line of readFileLines(path)) {
    if (!('text' in line)) continue;
    const parsed = JSON.parse(line.text) as { seq: number; hash: string }; // verified above
    if (parsed.seq === record.seq) return parsed.hash === record.hash;
  }
  return false;
}
