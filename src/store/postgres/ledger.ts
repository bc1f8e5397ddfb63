import type { ConfirmationLedger } from '../../store.js';
import { SCHEMA, type Sql } from './connect.js';

/**
 * Spent confirmation states in the database: the primary key makes the first
 * spend, on whichever replica, the only one. Each spend also prunes states
 * whose sealed question has expired (they can no longer be answered anyway).
 */
export class PostgresConfirmationLedger implements ConfirmationLedger {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async spend(stateId: string, expiresAt: Date): Promise<boolean> {
    const rows = await this.#sql.begin(async (tx) => {
      await tx`DELETE FROM ${tx(SCHEMA)}.spent_confirmations WHERE expires_at < clock_timestamp()`;
      return tx`
        INSERT INTO ${tx(SCHEMA)}.spent_confirmations (state_id, expires_at)
        VALUES (${stateId}, ${expiresAt})
        ON CONFLICT (state_id) DO NOTHING
        RETURNING state_id`;
    });
    return rows.length === 1;
  }
}
