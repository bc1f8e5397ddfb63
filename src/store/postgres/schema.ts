import { SCHEMA, type Sql } from './connect.js';

/**
 * The database schema, as numbered migrations run by `pingone-helpdesk-mcp db
 * migrate` with an owner's URL, never by the server: the server's role only
 * reads and appends (see `RUNTIME_GRANTS`), and at start-up it refuses a
 * schema older than `SCHEMA_VERSION`.
 *
 * A migration is applied once, in a transaction together with its row in
 * `schema_version`; running `db migrate` again applies nothing (idempotent),
 * and two at once are serialised by an advisory lock.
 */

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'audit trail (append-only, one chain per trail), write reservations, spent confirmations',
    sql: `
CREATE TABLE ${SCHEMA}.audit_records (
  environment_id text NOT NULL,
  scope text NOT NULL CHECK (scope IN ('tenant', 'sandbox')),
  seq bigint NOT NULL CHECK (seq >= 1),
  prev_hash text NOT NULL CHECK (prev_hash = '' OR prev_hash ~ '^[0-9a-f]{64}$'),
  hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  recorded_at timestamptz NOT NULL,
  audit_id text NOT NULL,
  -- The record exactly as the file trail would write its line: what export prints and verify hashes.
  line text NOT NULL,
  PRIMARY KEY (environment_id, scope, seq)
);

-- A record must continue its trail's chain: the next seq, linked to the last hash.
-- Appends hold the trail's advisory lock, so this only ever sees the true tail; the
-- primary key stops two records from ever claiming the same place.
CREATE FUNCTION ${SCHEMA}.audit_records_follow_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  last_seq bigint := 0;
  last_hash text := '';
BEGIN
  SELECT seq, hash INTO last_seq, last_hash FROM ${SCHEMA}.audit_records
    WHERE environment_id = NEW.environment_id AND scope = NEW.scope ORDER BY seq DESC LIMIT 1;
  IF NOT FOUND THEN last_seq := 0; last_hash := ''; END IF;
  IF NEW.seq <> last_seq + 1 OR NEW.prev_hash <> last_hash THEN
    RAISE EXCEPTION 'audit record seq % does not continue the trail (its last record is seq %)', NEW.seq, last_seq
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER audit_records_follow_chain BEFORE INSERT ON ${SCHEMA}.audit_records
  FOR EACH ROW EXECUTE FUNCTION ${SCHEMA}.audit_records_follow_chain();

-- Append-only even for a role that was granted more than it should have been.
CREATE FUNCTION ${SCHEMA}.audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only: % is refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_records_no_update_delete BEFORE UPDATE OR DELETE ON ${SCHEMA}.audit_records
  FOR EACH ROW EXECUTE FUNCTION ${SCHEMA}.audit_records_append_only();
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON ${SCHEMA}.audit_records
  FOR EACH STATEMENT EXECUTE FUNCTION ${SCHEMA}.audit_records_append_only();

-- A write slot taken within the sliding window; deleted when the write is not sent after all.
CREATE TABLE ${SCHEMA}.write_reservations (
  id uuid PRIMARY KEY,
  operator_key text NOT NULL,
  reserved_at timestamptz NOT NULL
);
CREATE INDEX write_reservations_reserved_at ON ${SCHEMA}.write_reservations (reserved_at);
CREATE INDEX write_reservations_operator ON ${SCHEMA}.write_reservations (operator_key, reserved_at);

-- Confirmation states that have been answered: a state is spent once, on any replica.
CREATE TABLE ${SCHEMA}.spent_confirmations (
  state_id text PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
CREATE INDEX spent_confirmations_expires_at ON ${SCHEMA}.spent_confirmations (expires_at);
`,
  },
];

/** The schema this build of the server needs. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** The privileges of the server's own role: read and append, nothing that could alter or drop. */
export const RUNTIME_GRANTS: readonly string[] = [
  `GRANT USAGE ON SCHEMA ${SCHEMA} TO %ROLE%`,
  `GRANT SELECT ON ${SCHEMA}.schema_version TO %ROLE%`,
  `GRANT SELECT, INSERT ON ${SCHEMA}.audit_records TO %ROLE%`,
  `GRANT SELECT, INSERT, DELETE ON ${SCHEMA}.write_reservations TO %ROLE%`,
  `GRANT SELECT, INSERT, DELETE ON ${SCHEMA}.spent_confirmations TO %ROLE%`,
];

const MIGRATION_LOCK = 'pingone-helpdesk-mcp migrate';

export interface MigrateResult {
  /** Versions applied by this run, in order (empty when the schema was current). */
  applied: number[];
  version: number;
  /** Roles granted the runtime privileges. */
  granted: string[];
}

/** Applies the migrations not yet applied, then grants the runtime privileges to `grantTo` roles. */
export async function migrate(sql: Sql, options: { grantTo?: readonly string[] } = {}): Promise<MigrateResult> {
  const applied: number[] = [];
  await sql.begin(async (tx) => {
    // One migrator at a time; the lock ends with the transaction.
    await tx`SELECT pg_advisory_xact_lock(hashtextextended(${MIGRATION_LOCK}, 0))`;
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS ${SCHEMA}.schema_version (
      version integer PRIMARY KEY,
      description text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx.unsafe<{ version: number }[]>(`SELECT version FROM ${SCHEMA}.schema_version`);
    const done = new Set(rows.map((row) => Number(row.version)));
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await tx.unsafe(migration.sql);
      await tx.unsafe(`INSERT INTO ${SCHEMA}.schema_version (version, description) VALUES ($1, $2)`, [
        migration.version,
        migration.description,
      ]);
      applied.push(migration.version);
    }
    for (const role of options.grantTo ?? []) {
      for (const grant of RUNTIME_GRANTS) await tx.unsafe(grant.replace('%ROLE%', quoteIdentifier(role)));
    }
  });
  return { applied, version: SCHEMA_VERSION, granted: [...(options.grantTo ?? [])] };
}

export type SchemaCheck =
  | { ok: true; version: number }
  | { ok: false; version: number; message: string };

/** The schema's version against this build's; `ok: false` says what to run. */
export async function checkSchema(sql: Sql): Promise<SchemaCheck> {
  const [row] = await sql.unsafe<{ exists: boolean }[]>(`SELECT to_regclass('${SCHEMA}.schema_version') IS NOT NULL AS exists`);
  let version = 0;
  if (row?.exists === true) {
    const [latest] = await sql.unsafe<{ version: number | null }[]>(`SELECT max(version) AS version FROM ${SCHEMA}.schema_version`);
    version = Number(latest?.version ?? 0);
  }
  if (version >= SCHEMA_VERSION) return { ok: true, version };
  const found = version === 0 ? 'has no schema yet' : `has schema version ${version}`;
  return {
    ok: false,
    version,
    message: `the database ${found}; this server needs version ${SCHEMA_VERSION}: run \`pingone-helpdesk-mcp db migrate\` with an owner's URL in PINGONE_MCP_DATABASE_URL, then start the server again`,
  };
}

/** A role name as an SQL identifier, quoted so that any name stays one identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface RoleCheck {
  role: string;
  /** The runtime grants this role lacks, e.g. "INSERT on pingone_mcp.audit_records". */
  missing: string[];
  /** The role owns the audit table (or is a superuser): it could disable the trigger or drop the table. */
  canAlterTrail: boolean;
}

const NEEDED: readonly (readonly [table: string, privilege: string])[] = [
  ['audit_records', 'SELECT'],
  ['audit_records', 'INSERT'],
  ['write_reservations', 'SELECT'],
  ['write_reservations', 'INSERT'],
  ['write_reservations', 'DELETE'],
  ['spent_confirmations', 'SELECT'],
  ['spent_confirmations', 'INSERT'],
  ['spent_confirmations', 'DELETE'],
];

/** What the connected role may do, against the runtime grants (run after `checkSchema` passed). */
export async function checkRuntimeRole(sql: Sql): Promise<RoleCheck> {
  const [row] = await sql.unsafe<{ role: string; can_alter: boolean; granted: boolean[] }[]>(
    `SELECT current_user AS role,
       pg_has_role((SELECT relowner FROM pg_class WHERE oid = '${SCHEMA}.audit_records'::regclass), 'USAGE') AS can_alter,
       ARRAY[${NEEDED.map((_, i) => `has_table_privilege($${2 * i + 1}, $${2 * i + 2})`).join(', ')}] AS granted`,
    NEEDED.flatMap(([table, privilege]) => [`${SCHEMA}.${table}`, privilege]),
  );
  if (row === undefined) throw new Error('the privilege check returned no row');
  const missing = NEEDED.filter((_, i) => row.granted[i] !== true).map(([table, privilege]) => `${privilege} on ${SCHEMA}.${table}`);
  return { role: row.role, missing, canAlterTrail: row.can_alter };
}
