import type { AuditSink } from '../../audit/record.js';
import type { DatabaseSettings } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { ConfirmationLedger, WriteLimiter } from '../../store.js';
import { PostgresAuditSink, type TrailKey } from './audit.js';
import { connect, describeDatabaseError, describeLocation } from './connect.js';
import { PostgresConfirmationLedger } from './ledger.js';
import { PostgresWriteLimiter, type WriteLimits } from './limits.js';
import { checkRuntimeRole, checkSchema } from './schema.js';

/**
 * The PostgreSQL stores, chosen once at composition when PINGONE_MCP_DATABASE_URL
 * is set. Loaded with a dynamic import (its own chunk, with the driver), so a
 * server without a database never loads either.
 */

export type { TrailKey } from './audit.js';
export type { WriteLimits } from './limits.js';

export interface PostgresStores {
  readonly audit: AuditSink;
  readonly limiter: WriteLimiter;
  readonly ledger: ConfirmationLedger;
  /** Ends the connections (waits up to 5 s for statements in flight). */
  close(): Promise<void>;
}

export interface PostgresStoreOptions {
  database: DatabaseSettings;
  /** The trail this server appends to: its managed environment, sandbox or tenant. */
  trail: TrailKey;
  limits: WriteLimits;
  logger: Logger;
}

/** The trail a server appends to: the environment it manages, in the sandbox or a tenant. */
export function trailKey(environmentId: string, sandbox: boolean): TrailKey {
  return { environmentId: environmentId.toLowerCase(), scope: sandbox ? 'sandbox' : 'tenant' };
}

/** Why the server cannot start on this database: one line for stderr, then exit 2. */
export class DatabaseStartError extends Error {
  override readonly name = 'DatabaseStartError';
}

/**
 * Connects, checks the schema version, and returns the three stores.
 * Rejects with DatabaseStartError when the database cannot be reached or its
 * schema is behind this build (the message says what to run).
 */
export async function openPostgresStores(options: PostgresStoreOptions): Promise<PostgresStores> {
  const { logger } = options;
  const location = describeLocation(options.database.url);
  const sql = connect(options.database.url, { onNotice: (message) => logger.info({ database: location }, `database notice: ${message}`) });
  try {
    const schema = await checkSchema(sql);
    if (!schema.ok) throw new DatabaseStartError(`database ${location}: ${schema.message}`);
    const role = await checkRuntimeRole(sql);
    if (role.missing.length > 0) {
      throw new DatabaseStartError(
        `database ${location}: the role ${role.role} lacks ${role.missing.join(', ')}: run \`pingone-helpdesk-mcp db migrate --grant ${role.role}\` with an owner's URL`,
      );
    }
    if (role.canAlterTrail) {
      logger.warn(
        { database: location, role: role.role },
        'the server connects as a role that owns the audit table (or a superuser): it could disable the append-only trigger. Connect as a role with only the runtime grants (README, "Replicas (PostgreSQL)").',
      );
    }
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => {});
    if (err instanceof DatabaseStartError) throw err;
    throw new DatabaseStartError(`database ${location}: cannot start on it: ${describeDatabaseError(err)}`);
  }
  return {
    audit: new PostgresAuditSink({ sql, key: options.trail, location }),
    limiter: new PostgresWriteLimiter(sql, options.limits),
    ledger: new PostgresConfirmationLedger(sql),
    close: () => sql.end({ timeout: 5 }),
  };
}
