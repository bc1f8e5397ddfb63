import { checkRecordLine } from '../../audit/chain.js';
import { describeTrail, trailLockName, type TrailKey } from './audit.js';
import { SCHEMA, type Sql } from './connect.js';

/**
 * Reading trails back for the CLI: which trails a database holds, their lines
 * in order (what `audit export` prints, which `audit verify FILE` accepts),
 * and a verification that streams a trail of any length.
 */

export interface TrailSummary {
  key: TrailKey;
  records: number;
}

export async function listTrails(sql: Sql): Promise<TrailSummary[]> {
  const rows = await sql<{ environment_id: string; scope: 'tenant' | 'sandbox'; records: string }[]>`
    SELECT environment_id, scope, count(*) AS records FROM ${sql(SCHEMA)}.audit_records
    GROUP BY environment_id, scope ORDER BY environment_id, scope`;
  return rows.map((row) => ({ key: { environmentId: row.environment_id, scope: row.scope }, records: Number(row.records) }));
}

interface Row {
  seq: string;
  prev_hash: string;
  hash: string;
  line: string;
}

const BATCH = 500;

/** The trail's rows in seq order, a batch at a time (a cursor), so any length fits in memory. */
export async function* trailRows(sql: Sql, key: TrailKey, since?: Date): AsyncGenerator<Row, void, undefined> {
  const cursor = sql<Row[]>`
    SELECT seq, prev_hash, hash, line FROM ${sql(SCHEMA)}.audit_records
    WHERE environment_id = ${key.environmentId} AND scope = ${key.scope}
      ${since === undefined ? sql`` : sql`AND recorded_at >= ${since}`}
    ORDER BY seq`.cursor(BATCH);
  for await (const rows of cursor) yield* rows;
}

export type TrailVerifyResult =
  | { ok: true; records: number; firstTime?: string; lastTime?: string }
  | { ok: false; seq: number; message: string };

/**
 * Checks every record as `audit verify` checks a file's lines (hash, exact
 * spelling) and the chain: seq 1, 2, 3… and each prevHash the previous hash.
 * The stored columns must agree with the line they index.
 */
export async function verifyTrail(sql: Sql, key: TrailKey): Promise<TrailVerifyResult> {
  let expected = 1;
  let previousHash = '';
  let firstTime: string | undefined;
  let lastTime: string | undefined;
  for await (const row of trailRows(sql, key)) {
    const seq = Number(row.seq);
    if (seq !== expected) {
      const missing = seq - 1 === expected ? `seq ${expected}` : `seq ${expected}–${seq - 1}`;
      return { ok: false, seq, message: `seq jumps from ${expected - 1} to ${seq}: ${missing} missing (rows were deleted)` };
    }
    const check = checkRecordLine(row.line);
    if (!check.ok) return { ok: false, seq, message: check.message };
    const record = check.record;
    if (record.seq !== seq || record.hash !== row.hash || record.prevHash !== row.prev_hash) {
      return { ok: false, seq, message: `the row's seq, hash or prev_hash columns disagree with its record (the row was edited)` };
    }
    if (record.prevHash !== previousHash) {
      return { ok: false, seq, message: `prevHash does not match the hash of seq ${seq - 1}: that record was replaced, or this one was forged` };
    }
    firstTime ??= record.time;
    lastTime = record.time;
    previousHash = record.hash;
    expected += 1;
  }
  const records = expected - 1;
  return { ok: true, records, ...(firstTime === undefined ? {} : { firstTime }), ...(lastTime === undefined ? {} : { lastTime }) };
}

export class TrailImportError extends Error {
  override readonly name = 'TrailImportError';
}

/**
 * Copies verified lines (a file trail, oldest first) into the trail `key`,
 * which must be empty: each line is stored exactly as it was, so the chain
 * and every hash carry over. One transaction: all lines or none.
 */
export async function importTrail(sql: Sql, key: TrailKey, lines: readonly string[]): Promise<number> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtextextended(${trailLockName(key)}, 0))`;
    const [existing] = await tx<{ count: string }[]>`
      SELECT count(*) AS count FROM ${tx(SCHEMA)}.audit_records
      WHERE environment_id = ${key.environmentId} AND scope = ${key.scope}`;
    if (Number(existing?.count ?? 0) > 0) {
      throw new TrailImportError(`the trail ${describeTrail(key)} already holds ${existing?.count} records: import only into an empty trail`);
    }
    for (const [index, line] of lines.entries()) {
      const check = checkRecordLine(line);
      if (!check.ok) throw new TrailImportError(`line ${index + 1}: ${check.message}`);
      const record = check.record;
      await tx`
        INSERT INTO ${tx(SCHEMA)}.audit_records (environment_id, scope, seq, prev_hash, hash, recorded_at, audit_id, line)
        VALUES (${key.environmentId}, ${key.scope}, ${record.seq}, ${record.prevHash}, ${record.hash},
                ${record.time}, ${String(record.auditId ?? '')}, ${line})`;
    }
    return lines.length;
  });
}
