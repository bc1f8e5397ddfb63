import { nodeCrypto } from '../lazyCrypto.js';
import canonicalize from 'canonicalize';
import { AUDIT_FORMAT_VERSION, type AuditContinuation, type AuditEntry, type AuditRecord } from './record.js';

/**
 * How one record becomes one line, and how a line is checked on its own.
 *
 * The hash is SHA-256 over the RFC 8785 (JCS) canonical JSON of the record
 * without `hash`, so it does not depend on key order or on how the line is
 * spelled. The line itself is `JSON.stringify` of the record in a fixed, readable
 * key order; the verifier also requires each line to be exactly that spelling,
 * which closes the one gap the canonical hash leaves open (an escape such as
 * `\u000b` rewritten as `\u000B` parses to the same value).
 */

/** A SHA-256 digest in lowercase hex. */
const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** Fields the trail adds; an entry cannot set them. */
const TRAIL_FIELDS = new Set(['v', 'time', 'seq', 'prevHash', 'hash']);

export function sha256Hex(text: string): string {
  // The one-shot digest: no Hash object per record (Node 20.12+; engines asks for 20.18).
  return nodeCrypto().hash('sha256', text, 'hex');
}

/** The hash of a record: SHA-256 of the canonical JSON of every field but `hash`. */
export function computeRecordHash(record: Readonly<Record<string, unknown>>): string {
  const { hash: _ignored, ...withoutHash } = record;
  const canonical = canonicalize(withoutHash);
  if (canonical === undefined) throw new TypeError('audit record is not JSON data');
  return sha256Hex(canonical);
}

/** An array index as a key: objects list those first whatever their insertion order, so JSON.stringify would not keep a sorted order. */
const INDEX_KEY = /^(?:0|[1-9][0-9]*)$/;

/**
 * RFC 8785 canonical JSON of a record built from `normalizeEntry`'s output (plain
 * objects and arrays, well-formed strings, finite numbers, booleans, null). For
 * such data JSON.stringify already spells strings and numbers as RFC 8785 does
 * (both follow ECMAScript), so sorting the keys by UTF-16 code units is all that
 * is left, in one native pass: several times cheaper than the general
 * canonicalizer on the append path. Anything else (an index-like key) goes to the
 * library, which also stays the one that checks lines read back; a property test
 * holds the two equal.
 */
export function canonicalRecordJson(record: Readonly<Record<string, unknown>>): string {
  const sorted = withSortedKeys(record);
  if (sorted !== undefined) return JSON.stringify(sorted);
  const canonical = canonicalize(record);
  // Never hash an empty text in its place: a record that cannot be spelled is not written.
  if (canonical === undefined) throw new TypeError('audit record is not JSON data');
  return canonical;
}

function withSortedKeys(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const item of value) {
      const copy = withSortedKeys(item);
      if (copy === undefined) return undefined;
      items.push(copy);
    }
    return items;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const item = withSortedKeys((value as Record<string, unknown>)[key]);
    if (item === undefined || INDEX_KEY.test(key)) return undefined;
    setData(copy, key, item);
  }
  return copy;
}

// U+2028/U+2029 and NEL are valid inside JSON strings and JSON.stringify leaves
// them raw, but editors, log viewers and some line readers treat them as line
// breaks. Escaping them keeps "one record per line" true for every reader.
const READER_LINE_BREAKS = /[\u0085\u2028\u2029]/g;

/** The exact text of a record's line, without the trailing newline. */
export function serializeRecord(record: object): string {
  return JSON.stringify(record).replace(
    READER_LINE_BREAKS,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export interface ChainPosition {
  /** seq of the last record, 0 for an empty file. */
  seq: number;
  /** hash of the last record, "" for an empty file. */
  hash: string;
}

export const EMPTY_CHAIN: ChainPosition = Object.freeze({ seq: 0, hash: '' });

/**
 * The entry as plain JSON data (see `toJsonData`), without the fields the trail
 * owns. Throws TypeError for an entry JSON cannot hold faithfully.
 */
export function normalizeEntry(entry: AuditEntry): Record<string, unknown> {
  const data = toJsonData(entry, 'entry');
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new TypeError('audit entry must be an object');
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) if (!TRAIL_FIELDS.has(key)) setData(fields, key, value);
  return fields;
}

/** Where/which/what first, the chain last: the readable order of a record's fields. */
const LEADING_FIELDS = ['auditId', 'phase', 'tool', 'target', 'reason', 'actor', 'outcome', 'pingone', 'durationMs', 'sandbox'] as const;
const LEADING = new Set<string>(LEADING_FIELDS);

/** The record that follows `previous`, for an entry already passed through `normalizeEntry`. */
export function buildRecord(fields: Readonly<Record<string, unknown>>, previous: ChainPosition, time: string): AuditRecord {
  // Built in its final key order, never deleting a key: objects that keep their
  // shape are what JSON.stringify and the canonicalizer walk fastest. Fields not
  // listed (added to AuditEntry later) follow the listed ones.
  const record: Record<string, unknown> = { v: AUDIT_FORMAT_VERSION, time, seq: previous.seq + 1 };
  for (const key of LEADING_FIELDS) if (fields[key] !== undefined) record[key] = fields[key];
  for (const key of Object.keys(fields)) if (!LEADING.has(key) && fields[key] !== undefined) setData(record, key, fields[key]);
  record.prevHash = previous.hash;
  record.hash = sha256Hex(canonicalRecordJson(record));
  return record as unknown as AuditRecord;
}

/** The first record of a rotated file: it continues the chain of `previousFile`, whose last record is `previous`. */
export function buildContinuation(
  previousFile: string,
  previous: ChainPosition,
  actor: AuditContinuation['actor'],
  time: string,
): AuditContinuation {
  const fields = { phase: 'continued', continues: { file: previousFile, seq: previous.seq, hash: previous.hash }, actor };
  return buildRecord(fields, previous, time) as unknown as AuditContinuation;
}

/** The record as a continuation whose link fields agree with its chain fields, or undefined. */
export function asContinuation(record: Readonly<Record<string, unknown>>): AuditContinuation | undefined {
  if (record.phase !== 'continued') return undefined;
  const continues = record.continues;
  if (typeof continues !== 'object' || continues === null) return undefined;
  const { file, seq, hash } = continues as Record<string, unknown>;
  if (typeof file !== 'string' || file === '' || typeof seq !== 'number' || typeof hash !== 'string') return undefined;
  if (record.seq !== seq + 1 || record.prevHash !== hash || !HASH_PATTERN.test(hash)) return undefined;
  return record as unknown as AuditContinuation;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Any surrogate at all: most text has none, and this test is far cheaper than the replacement's lookarounds. */
const ANY_SURROGATE = /[\uD800-\uDFFF]/;

function wellFormed(text: string): string {
  return ANY_SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
}

/**
 * A deep copy of `value` as plain JSON data: strings made well-formed (a lone
 * surrogate becomes U+FFFD, since RFC 8785 cannot hash it), `undefined`
 * properties dropped. Anything else that JSON cannot hold faithfully
 * (NaN, Infinity, bigint, functions, class instances) is a caller bug: TypeError.
 */
function toJsonData(value: unknown, where: string): unknown {
  switch (typeof value) {
    case 'string':
      return wellFormed(value);
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`audit ${where} must be a finite number`);
      return value;
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) return value.map((item, index) => toJsonData(item, `${where}[${index}]`));
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new TypeError(`audit ${where} must be plain data`);
      const copy: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        if (item !== undefined) setData(copy, wellFormed(key), toJsonData(item, `${where}.${key}`));
      }
      return copy;
    }
    default:
      throw new TypeError(`audit ${where} has a ${typeof value}, which is not JSON data`);
  }
}

/** Like `target[key] = value`, but a key named "__proto__" stays data. */
function setData(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

export type LineCheck =
  | { ok: true; record: AuditRecord }
  | { ok: false; problem: 'malformed' | 'edited'; message: string };

/**
 * Checks one line on its own: JSON object, the chain fields present and well
 * typed, the hash recomputes, and the line is spelled exactly as the trail writes it.
 * The other fields are not checked, so records with outcomes added later still verify.
 */
export function checkRecordLine(text: string): LineCheck {
  if (text.length === 0) return { ok: false, problem: 'malformed', message: 'the line is empty' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'malformed', message: 'the line is not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, problem: 'malformed', message: 'the line is not a JSON object' };
  }
  const fields = parsed as Record<string, unknown>;
  const { seq, hash, prevHash, time } = fields;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    return { ok: false, problem: 'malformed', message: 'the record has no valid "seq" (a positive integer)' };
  }
  if (typeof hash !== 'string' || !HASH_PATTERN.test(hash)) {
    return { ok: false, problem: 'malformed', message: 'the record has no valid "hash" (64 lowercase hex digits)' };
  }
  if (typeof prevHash !== 'string' || (prevHash !== '' && !HASH_PATTERN.test(prevHash))) {
    return { ok: false, problem: 'malformed', message: 'the record has no valid "prevHash"' };
  }
  if (typeof time !== 'string') {
    return { ok: false, problem: 'malformed', message: 'the record has no "time"' };
  }
  // Absent: written by release 0.1.0. A later version still verifies: the hash covers what was written.
  if (fields.v !== undefined && (typeof fields.v !== 'number' || !Number.isSafeInteger(fields.v) || fields.v < 1)) {
    return { ok: false, problem: 'malformed', message: 'the record has an invalid format version "v" (a positive integer)' };
  }
  let recomputed: string;
  try {
    recomputed = computeRecordHash(fields);
  } catch {
    return { ok: false, problem: 'malformed', message: 'the record cannot be canonicalized (it holds a lone surrogate)' };
  }
  if (recomputed !== hash) {
    return {
      ok: false,
      problem: 'edited',
      message: `record seq ${seq} was changed after it was written: its hash does not match its content`,
    };
  }
  if (serializeRecord(fields) !== text) {
    return {
      ok: false,
      problem: 'edited',
      message: `record seq ${seq} was re-spelled after it was written (same values, different bytes)`,
    };
  }
  return { ok: true, record: parsed as AuditRecord };
}
