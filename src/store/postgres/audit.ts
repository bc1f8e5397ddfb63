import { buildRecord, EMPTY_CHAIN, normalizeEntry, serializeRecord, type ChainPosition } from '../../audit/chain.js';
import { AuditUnavailableError } from '../../audit/errors.js';
import type { AuditEntry, AuditRecord, AuditSink } from '../../audit/record.js';
import { describeDatabaseError, SCHEMA, type Sql } from './connect.js';

/**
 * The audit trail in PostgreSQL: the same records, lines and hashes as the file
 * trail (audit/chain.ts), one linear chain per trail.
 *
 * An append takes the trail's transaction-scoped advisory lock, reads the
 * tail, inserts the next record and commits with synchronous_commit on, so
 * replicas appending at once form one chain and the record is durable when
 * `append` resolves. When the database is down or refuses, the append rejects
 * with AuditUnavailableError and the caller must not write to PingOne; the
 * next append simply tries again, so service resumes when the database does.
 */

/** Which chain a record belongs to: a sandbox and a tenant, or two environments, never share one. */
export interface TrailKey {
  readonly environmentId: string;
  readonly scope: 'tenant' | 'sandbox';
}

export function describeTrail(key: TrailKey): string {
  return `${key.environmentId}/${key.scope}`;
}

/** The advisory lock of one trail: a 64-bit hash of its key (a collision only serialises two trails). */
export function trailLockName(key: TrailKey): string {
  return `pingone-helpdesk-mcp audit ${key.environmentId} ${key.scope}`;
}

/** How often a broken sink asks the database whether it is back, at most. */
const PROBE_INTERVAL_MS = 2_000;

export interface PostgresAuditSinkOptions {
  sql: Sql;
  key: TrailKey;
  /** `host:port/database`, for messages. */
  location: string;
  now?: () => Date;
  /**
   * How long an append may wait for the database before it is refused. A database that
   * stops answering (a frozen host, a lost network) would otherwise hold the call until TCP
   * gives up, minutes later. A refused append may still commit afterwards: the trail then
   * holds an intent whose write was never sent, as after a crash.
   */
  timeoutMs?: number;
}

/** Longer than the statement timeout, so the database's own refusal (with its reason) comes first. */
export const APPEND_TIMEOUT_MS = 15_000;

export class PostgresAuditSink implements AuditSink {
  readonly #sql: Sql;
  readonly #key: TrailKey;
  readonly #where: string;
  readonly #now: () => Date;
  readonly #timeoutMs: number;
  /** Why the last append failed, until an append or a probe succeeds. */
  #broken: string | undefined;
  #lastProbe = 0;

  constructor(options: PostgresAuditSinkOptions) {
    this.#sql = options.sql;
    this.#key = options.key;
    this.#where = `${options.location} (trail ${describeTrail(options.key)})`;
    this.#now = options.now ?? (() => new Date());
    this.#timeoutMs = options.timeoutMs ?? APPEND_TIMEOUT_MS;
  }

  status(): { state: 'ready' } | { state: 'broken'; reason: string } {
    if (this.#broken === undefined) return { state: 'ready' };
    this.#probe();
    return { state: 'broken', reason: this.#broken };
  }

  async append(entry: AuditEntry): Promise<AuditRecord> {
    let fields: Record<string, unknown>;
    try {
      fields = normalizeEntry(entry);
    } catch (err) {
      // A caller bug, not a database problem: refuse this record, keep the sink.
      throw new AuditUnavailableError(`cannot record this audit entry: ${(err as Error).message}`, { path: this.#where, cause: err });
    }
    try {
      const record = await withTimeout(this.#timeoutMs, this.#sql.begin(async (tx) => {
        // Sent together (one round trip) but run one after the other: the tail is read by a
        // statement that starts once the lock is held, so it sees every earlier append.
        const [, [tail]] = await Promise.all([
          tx`SELECT pg_advisory_xact_lock(hashtextextended(${trailLockName(this.#key)}, 0))`,
          tx<{ seq: string; hash: string }[]>`
            SELECT seq, hash FROM ${tx(SCHEMA)}.audit_records
            WHERE environment_id = ${this.#key.environmentId} AND scope = ${this.#key.scope}
            ORDER BY seq DESC LIMIT 1`,
        ]);
        const previous: ChainPosition = tail === undefined ? EMPTY_CHAIN : { seq: Number(tail.seq), hash: tail.hash };
        const built = buildRecord(fields, previous, this.#now().toISOString());
        await tx`
          INSERT INTO ${tx(SCHEMA)}.audit_records (environment_id, scope, seq, prev_hash, hash, recorded_at, audit_id, line)
          VALUES (${this.#key.environmentId}, ${this.#key.scope}, ${built.seq}, ${built.prevHash}, ${built.hash},
                  ${built.time}, ${built.auditId}, ${serializeRecord(built)})`;
        return built;
      }));
      this.#broken = undefined;
      return record;
    } catch (err) {
      const reason = `cannot write the audit trail in ${this.#where}: ${describeDatabaseError(err)}. Nothing was recorded, so nothing is changed in PingOne; calls work again once the database accepts writes.`;
      this.#broken = reason;
      throw new AuditUnavailableError(reason, { path: this.#where, cause: err });
    }
  }

  /** Clears `broken` in the background once the database answers and accepts writes again. */
  #probe(): void {
    const now = Date.now();
    if (now - this.#lastProbe < PROBE_INTERVAL_MS) return;
    this.#lastProbe = now;
    // transaction_read_only is on for a standby or a database set read-only.
    this.#sql<{ writable: boolean }[]>`SELECT current_setting('transaction_read_only') = 'off' AS writable`.then(
      ([row]) => {
        if (row?.writable === true) this.#broken = undefined;
      },
      () => {
        // still down: the reason already says so
      },
    );
  }
}

class NoAnswerError extends Error {
  override readonly name = 'NoAnswerError';
}

function withTimeout<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NoAnswerError(`the database did not answer within ${ms / 1000} s`)), ms);
  });
  // The late result, if any, is not wanted: keep its rejection from going unhandled.
  work.catch(() => {});
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
