import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditUnavailableError } from '../../src/audit/errors.js';
import { createLogger } from '../../src/logger.js';
import { openPostgresStores, type PostgresStores } from '../../src/store/postgres/index.js';
import { PostgresAuditSink } from '../../src/store/postgres/audit.js';
import { connect } from '../../src/store/postgres/connect.js';
import { verifyTrail } from '../../src/store/postgres/trails.js';
import { ENVIRONMENT_ID, sampleEntry } from '../audit/helpers-entry.js';
import { createTestDatabase, SKIP_HINT, type TestDatabase } from './support/database.js';
import { startTestPostgres, type TestPostgres } from './support/server.js';

/**
 * The database goes away mid-run: appends, reservations and spends fail closed
 * with a clear reason, and the same stores work again once it is back — no
 * restart, no new store. Needs a server of its own to stop, so it always uses
 * the embedded binaries.
 */
let pg: TestPostgres | undefined;
let unavailable: string | undefined;
try {
  pg = await startTestPostgres();
} catch (err) {
  unavailable = err instanceof Error ? err.message : String(err);
  if (process.env.CI === 'true') throw new Error(`the outage test needs its own PostgreSQL server and none could be started: ${unavailable}`);
  console.warn(`${SKIP_HINT} (${unavailable})`);
}

const TRAIL = { environmentId: ENVIRONMENT_ID, scope: 'tenant' as const };

describe.skipIf(pg === undefined)('a database that stops mid-run', () => {
  let db: TestDatabase;
  let stores: PostgresStores;

  beforeAll(async () => {
    db = await createTestDatabase(pg!.adminUrl);
    stores = await openPostgresStores({ database: { url: db.runtimeUrl }, trail: TRAIL, limits: { server: 100 }, logger: createLogger('silent') });
  });
  afterAll(async () => {
    await stores?.close();
    await pg?.destroy();
  });

  it('refuses appends with a clear reason while it is down, then recovers without a restart', async () => {
    for (let i = 0; i < 5; i++) await stores.audit.append(sampleEntry(i));
    await pg!.stop();

    const failure = await stores.audit.append(sampleEntry(5)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(AuditUnavailableError);
    const message = (failure as Error).message;
    expect(message).toMatch(/cannot write the audit trail in 127\.0\.0\.1:\d+\/pingone_mcp_test_\w+ \(trail [0-9a-f-]+\/tenant\): the database is unreachable \(\w+\)/);
    expect(message).toMatch(/Nothing was recorded, so nothing is changed in PingOne/);
    expect(message).not.toMatch(/password|postgres:\/\//i);
    expect(stores.audit.status()).toMatchObject({ state: 'broken' });
    await expect(stores.limiter.reserve('local')).rejects.toThrow();
    await expect(stores.ledger.spend('state-during-outage', new Date(Date.now() + 60_000))).rejects.toThrow();

    await pg!.start();
    // The same stores, the driver reconnecting by itself.
    const record = await stores.audit.append(sampleEntry(6));
    expect(record.seq).toBe(6);
    expect(stores.audit.status()).toEqual({ state: 'ready' });
    expect((await stores.limiter.reserve('local')).granted).toBe(true);
    expect(await stores.ledger.spend('state-after-outage', new Date(Date.now() + 60_000))).toBe(true);

    const sql = connect(db.runtimeUrl, { max: 1 });
    try {
      expect(await verifyTrail(sql, TRAIL)).toMatchObject({ ok: true, records: 6 });
    } finally {
      await sql.end();
    }
  }, 60_000);

  it('refuses an append when the database stops answering, then goes on when it answers again', async () => {
    const sql = connect(db.runtimeUrl, { max: 1 });
    try {
      const sink = new PostgresAuditSink({ sql, key: TRAIL, location: 'test', timeoutMs: 1_000 });
      await sink.append(sampleEntry(20));
      const [backend] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      const pid = backend?.pid ?? 0;
      expect(pid).toBeGreaterThan(0);
      process.kill(pid, 'SIGSTOP'); // this connection's server process, as a frozen host would be
      try {
        await expect(sink.append(sampleEntry(21))).rejects.toThrow(/the database did not answer within 1 s\. Nothing was recorded/);
        expect(sink.status()).toMatchObject({ state: 'broken' });
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      const next = await sink.append(sampleEntry(22));
      const result = await verifyTrail(sql, TRAIL);
      expect(result).toMatchObject({ ok: true, records: next.seq });
    } finally {
      await sql.end();
    }
  });

  it('refuses appends when the database is read-only', async () => {
    const admin = postgres(pg!.adminUrl, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`ALTER DATABASE ${db.name} SET default_transaction_read_only = on`);
    } finally {
      await admin.end();
    }
    // A new replica's connections start read-only.
    const readOnly = await openPostgresStores({ database: { url: db.runtimeUrl }, trail: TRAIL, limits: { server: 100 }, logger: createLogger('silent') });
    try {
      await expect(readOnly.audit.append(sampleEntry(7))).rejects.toThrow(/the database is read-only .*\(25006\)/);
      expect(readOnly.audit.status()).toMatchObject({ state: 'broken', reason: expect.stringContaining('read-only') });
    } finally {
      await readOnly.close();
    }
  });
});
