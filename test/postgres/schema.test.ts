import { Writable } from 'node:stream';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { PostgresAuditSink } from '../../src/store/postgres/audit.js';
import { connect, type Sql } from '../../src/store/postgres/connect.js';
import { DatabaseStartError, openPostgresStores } from '../../src/store/postgres/index.js';
import { checkSchema, migrate, SCHEMA_VERSION } from '../../src/store/postgres/schema.js';
import { ENVIRONMENT_ID, sampleEntry } from '../audit/helpers-entry.js';
import { createTestDatabase, SKIP_HINT, testServer, withUser, type TestDatabase } from './support/database.js';

/** A logger at level warn whose output the test reads. */
function capture(): { logger: ReturnType<typeof createLogger>; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger('warn', stream), text: () => chunks.join('') };
}

const server = testServer();
if ('unavailable' in server) console.warn(`${SKIP_HINT} (${server.unavailable})`);
const logger = createLogger('silent');
const options = (url: string) => ({
  database: { url },
  trail: { environmentId: ENVIRONMENT_ID, scope: 'tenant' as const },
  limits: { server: 10 },
  logger,
});

describe.skipIf('unavailable' in server)('the schema and its privileges', () => {
  let db: TestDatabase;
  let runtime: Sql;
  let owner: Sql;

  beforeAll(async () => {
    db = await createTestDatabase((server as { url: string }).url);
    runtime = postgres(db.runtimeUrl, { max: 2, onnotice: () => {} });
    owner = postgres(db.ownerUrl, { max: 2, onnotice: () => {} });
    const sink = new PostgresAuditSink({ sql: connect(db.runtimeUrl, { max: 1 }), key: { environmentId: ENVIRONMENT_ID, scope: 'tenant' }, location: 'test' });
    for (let i = 0; i < 3; i++) await sink.append(sampleEntry(i));
  });
  afterAll(async () => {
    await runtime?.end();
    await owner?.end();
    await db?.drop();
  });

  it('lets the runtime role read and append, and refuses it UPDATE, DELETE, TRUNCATE, disabling the trigger and DROP', async () => {
    expect((await runtime`SELECT count(*)::int AS n FROM pingone_mcp.audit_records`)[0]?.n).toBe(3);
    const refusals = [
      runtime`UPDATE pingone_mcp.audit_records SET line = 'x' WHERE seq = 1`,
      runtime`DELETE FROM pingone_mcp.audit_records WHERE seq = 3`,
      runtime`TRUNCATE pingone_mcp.audit_records`,
      runtime`ALTER TABLE pingone_mcp.audit_records DISABLE TRIGGER USER`,
      runtime`DROP TABLE pingone_mcp.audit_records`,
      runtime`DELETE FROM pingone_mcp.schema_version`,
    ];
    for (const statement of refusals) {
      // 42501: permission denied; 42501 is also what "must be owner" raises.
      await expect(statement).rejects.toMatchObject({ code: '42501' });
    }
    expect((await runtime`SELECT count(*)::int AS n FROM pingone_mcp.audit_records`)[0]?.n).toBe(3);
  });

  it('refuses UPDATE, DELETE and TRUNCATE by trigger even to the owner', async () => {
    await expect(owner`UPDATE pingone_mcp.audit_records SET line = 'x' WHERE seq = 1`).rejects.toThrow(/append-only: UPDATE is refused/);
    await expect(owner`DELETE FROM pingone_mcp.audit_records WHERE seq = 3`).rejects.toThrow(/append-only: DELETE is refused/);
    await expect(owner`TRUNCATE pingone_mcp.audit_records`).rejects.toThrow(/append-only: TRUNCATE is refused/);
    expect((await owner`SELECT count(*)::int AS n FROM pingone_mcp.audit_records`)[0]?.n).toBe(3);
  });

  it('refuses a row that does not continue its chain, even inserted by hand', async () => {
    const [last] = await runtime<{ hash: string }[]>`SELECT hash FROM pingone_mcp.audit_records WHERE seq = 3`;
    const insert = (seq: number, prevHash: string) => runtime`
      INSERT INTO pingone_mcp.audit_records (environment_id, scope, seq, prev_hash, hash, recorded_at, audit_id, line)
      VALUES (${ENVIRONMENT_ID}, 'tenant', ${seq}, ${prevHash}, ${'f'.repeat(64)}, now(), 'forged', '{}')`;
    await expect(insert(5, last?.hash ?? '')).rejects.toThrow(/does not continue the trail/);
    await expect(insert(4, 'e'.repeat(64))).rejects.toThrow(/does not continue the trail/);
    await expect(insert(3, last?.hash ?? '')).rejects.toThrow(/does not continue the trail/);
  });

  it('migrates idempotently: a second run applies nothing', async () => {
    const result = await migrate(owner);
    expect(result).toEqual({ applied: [], version: SCHEMA_VERSION, granted: [] });
    expect(await checkSchema(runtime)).toEqual({ ok: true, version: SCHEMA_VERSION });
  });

  it('opens the stores on a current schema, quietly for a role with only the runtime grants', async () => {
    const log = capture();
    const stores = await openPostgresStores({ ...options(db.runtimeUrl), logger: log.logger });
    try {
      const record = await stores.audit.append(sampleEntry(3));
      expect(record.seq).toBe(4);
    } finally {
      await stores.close();
    }
    expect(log.text()).toBe('');
  });

  it('warns when the server connects as a role that could disable the trigger', async () => {
    const log = capture();
    const stores = await openPostgresStores({ ...options(db.ownerUrl), logger: log.logger });
    await stores.close();
    expect(log.text()).toMatch(/owns the audit table \(or a superuser\): it could disable the append-only trigger/);
  });

  it('refuses to start for a role without the runtime grants, naming them and the fix', async () => {
    const role = `pingone_mcp_nogrants_${Date.now()}`;
    await owner.unsafe(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
    await owner.unsafe(`GRANT USAGE ON SCHEMA pingone_mcp TO ${role}`);
    await owner.unsafe(`GRANT SELECT ON pingone_mcp.schema_version, pingone_mcp.audit_records TO ${role}`);
    try {
      await expect(openPostgresStores(options(withUser(db.ownerUrl, role, 'pw')))).rejects.toThrow(
        new RegExp(`the role ${role} lacks INSERT on pingone_mcp.audit_records, SELECT on pingone_mcp.write_reservations, .*: run \`pingone-helpdesk-mcp db migrate --grant ${role}\``),
      );
    } finally {
      await owner.unsafe(`DROP OWNED BY ${role}`);
      await owner.unsafe(`DROP ROLE ${role}`);
    }
  });
});

describe.skipIf('unavailable' in server)('a database whose schema is behind', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase((server as { url: string }).url, { migrate: false });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('is refused at start-up with one line saying what to run', async () => {
    const error = await openPostgresStores(options(db.ownerUrl)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(DatabaseStartError);
    const message = (error as Error).message;
    expect(message).toMatch(/has no schema yet; this server needs version 1: run `pingone-helpdesk-mcp db migrate`/);
    expect(message).not.toContain('\n');
  });

  it('is refused when an older version is recorded', async () => {
    const owner = postgres(db.ownerUrl, { max: 1, onnotice: () => {} });
    try {
      await owner`CREATE SCHEMA pingone_mcp`;
      await owner`CREATE TABLE pingone_mcp.schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
      await owner`INSERT INTO pingone_mcp.schema_version (version, description) VALUES (0, 'older')`;
      expect(await checkSchema(owner)).toMatchObject({ ok: false, version: 0 });
    } finally {
      await owner.end();
    }
  });

  it('is refused with a clear line when the database cannot be reached', async () => {
    const url = new URL(db.ownerUrl);
    url.port = '1'; // nothing listens on port 1
    await expect(openPostgresStores(options(url.href))).rejects.toThrow(/database 127\.0\.0\.1:1\/pingone_mcp_test_\w+: cannot start on it: the database is unreachable \(ECONNREFUSED\)/);
  });
});
