import { randomUUID } from 'node:crypto';
import type { ReserveResult, WriteLimiter, WriteReservation } from '../../store.js';
import { SCHEMA, type Sql } from './connect.js';

/**
 * Sliding-window write limits counted in the database, so that any number of
 * replicas together allow exactly the configured number of writes.
 *
 * A reservation is decided and taken in one transaction under one advisory
 * lock: the window is counted (in total and for the operator) and the slot
 * inserted before anyone else may count. Time is the database's clock, so the
 * replicas' clocks do not matter. Reservations older than the window are
 * pruned by the next reservation.
 */

export interface WriteLimits {
  /** Writes per window for the whole deployment. */
  readonly server: number;
  /** Writes per window for one operator; undefined = no per-operator limit. */
  readonly operator?: number | undefined;
  /** The window's length; one minute unless a test says otherwise. */
  readonly windowMs?: number;
}

const LIMITS_LOCK = 'pingone-helpdesk-mcp write limits';

interface WindowCount {
  now: Date;
  total: string;
  mine: string;
  oldest_total: Date | null;
  oldest_mine: Date | null;
}

export class PostgresWriteLimiter implements WriteLimiter {
  readonly #sql: Sql;
  readonly #limits: WriteLimits;
  readonly #windowMs: number;

  constructor(sql: Sql, limits: WriteLimits) {
    this.#sql = sql;
    this.#limits = limits;
    this.#windowMs = limits.windowMs ?? 60_000;
  }

  /** Rejects with the driver's error when the database cannot decide: the caller must not write then. */
  async reserve(operatorKey: string): Promise<ReserveResult> {
    const id = randomUUID();
    const windowSeconds = this.#windowMs / 1000;
    const decided = await this.#sql.begin(async (tx): Promise<ReserveResult | 'granted'> => {
      // Sent together, run in turn: the count starts once the lock is held. clock_timestamp(),
      // not now(): the transaction may have waited for the lock.
      const [, [count]] = await Promise.all([
        tx`SELECT pg_advisory_xact_lock(hashtextextended(${LIMITS_LOCK}, 0))`,
        tx<WindowCount[]>`
          WITH t AS (SELECT clock_timestamp() AS now)
          SELECT t.now,
            count(r.id) AS total,
            count(r.id) FILTER (WHERE r.operator_key = ${operatorKey}) AS mine,
            min(r.reserved_at) AS oldest_total,
            min(r.reserved_at) FILTER (WHERE r.operator_key = ${operatorKey}) AS oldest_mine
          FROM t LEFT JOIN ${tx(SCHEMA)}.write_reservations r
            ON r.reserved_at > t.now - make_interval(secs => ${windowSeconds})
          GROUP BY t.now`,
      ]);
      if (count === undefined) throw new Error('the write limit count returned no row');
      const now = count.now.getTime();
      const retryAfter = (oldest: Date | null): number => Math.max(1, (oldest?.getTime() ?? now) + this.#windowMs - now);
      if (Number(count.total) >= this.#limits.server) {
        return { granted: false, limit: 'server', retryAfterMs: retryAfter(count.oldest_total) };
      }
      const perOperator = this.#limits.operator;
      if (perOperator !== undefined && Number(count.mine) >= perOperator) {
        return { granted: false, limit: 'operator', retryAfterMs: retryAfter(count.oldest_mine) };
      }
      await tx`
        DELETE FROM ${tx(SCHEMA)}.write_reservations
        WHERE reserved_at <= ${count.now}::timestamptz - make_interval(secs => ${windowSeconds})`;
      await tx`
        INSERT INTO ${tx(SCHEMA)}.write_reservations (id, operator_key, reserved_at)
        VALUES (${id}, ${operatorKey}, ${count.now})`;
      return 'granted';
    });
    if (decided !== 'granted') return decided;
    return { granted: true, reservation: this.#reservation(id) };
  }

  #reservation(id: string): WriteReservation {
    let released: Promise<void> | undefined;
    return {
      release: () => {
        released ??= this.#sql`DELETE FROM ${this.#sql(SCHEMA)}.write_reservations WHERE id = ${id}`.then(() => undefined);
        return released;
      },
    };
  }
}
