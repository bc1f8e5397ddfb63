import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Sql } from '../../src/store/postgres/connect.js';
import { PostgresConfirmationLedger } from '../../src/store/postgres/ledger.js';
import { PostgresWriteLimiter, type WriteLimits } from '../../src/store/postgres/limits.js';
import type { ReserveResult } from '../../src/store.js';
import { createTestDatabase, SKIP_HINT, testServer, type TestDatabase } from './support/database.js';

const server = testServer();
if ('unavailable' in server) console.warn(`${SKIP_HINT} (${server.unavailable})`);

const OPERATORS = Array.from({ length: 8 }, (_, i) => `https://issuer.example.test/as operator-${i}`);

describe.skipIf('unavailable' in server)('write limits and spent confirmations in PostgreSQL', () => {
  let db: TestDatabase;
  const pools: Sql[] = [];

  beforeAll(async () => {
    db = await createTestDatabase((server as { url: string }).url);
  });
  afterAll(async () => {
    await Promise.all(pools.map((sql) => sql.end()));
    await db?.drop();
  });

  /** Four replicas' limiters, each with its own connections. */
  function replicas(limits: WriteLimits): PostgresWriteLimiter[] {
    return Array.from({ length: 4 }, () => {
      const sql = connect(db.runtimeUrl, { max: 4 });
      pools.push(sql);
      return new PostgresWriteLimiter(sql, limits);
    });
  }

  async function clear(): Promise<void> {
    const sql = connect(db.ownerUrl, { max: 1 });
    await sql`DELETE FROM pingone_mcp.write_reservations`;
    await sql.end();
  }

  it('grants exactly the server-wide limit to 80 concurrent reservations through four replicas', async () => {
    await clear();
    const limiters = replicas({ server: 10, operator: 3 });
    const results = await Promise.all(
      Array.from({ length: 80 }, (_, i) => limiters[i % 4]!.reserve(OPERATORS[i % 8]!)),
    );
    const granted = results.filter((r) => r.granted);
    expect(granted).toHaveLength(10);
    const refused = results.filter((r): r is Extract<ReserveResult, { granted: false }> => !r.granted);
    for (const refusal of refused) {
      expect(refusal.retryAfterMs).toBeGreaterThan(0);
      expect(refusal.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    expect(refused.some((r) => r.limit === 'server')).toBe(true);
  });

  it('grants exactly the per-operator limit to each of eight operators, 80 reservations at once', async () => {
    await clear();
    const limiters = replicas({ server: 1000, operator: 3 });
    const calls = Array.from({ length: 80 }, (_, i) => ({ operator: OPERATORS[i % 8]!, limiter: limiters[(i * 3) % 4]! }));
    const results = await Promise.all(calls.map(({ operator, limiter }) => limiter.reserve(operator).then((result) => ({ operator, result }))));
    for (const operator of OPERATORS) {
      const mine = results.filter((r) => r.operator === operator);
      expect(mine.filter((r) => r.result.granted)).toHaveLength(3);
      expect(mine.filter((r) => !r.result.granted).every((r) => !r.result.granted && r.result.limit === 'operator')).toBe(true);
    }
  });

  it('gives a released slot back, once, and lets the window slide', async () => {
    await clear();
    const [a, b] = replicas({ server: 2, windowMs: 1_500 });
    const first = await a!.reserve('local');
    const second = await b!.reserve('local');
    expect(first.granted && second.granted).toBe(true);
    expect((await a!.reserve('local')).granted).toBe(false);
    if (!first.granted) throw new Error('unreachable');
    await first.reservation.release();
    await first.reservation.release(); // idempotent: gives back one slot, not two
    expect((await b!.reserve('local')).granted).toBe(true);
    const full = await b!.reserve('local');
    expect(full).toMatchObject({ granted: false, limit: 'server' });
    await new Promise((resolve) => setTimeout(resolve, (full.granted ? 0 : full.retryAfterMs) + 200));
    expect((await a!.reserve('local')).granted).toBe(true);
  });

  it('spends a confirmation state once, whichever replica answers, with 20 answers at once', async () => {
    const ledgers = Array.from({ length: 4 }, () => {
      const sql = connect(db.runtimeUrl, { max: 4 });
      pools.push(sql);
      return new PostgresConfirmationLedger(sql);
    });
    const stateId = randomUUID();
    const expiresAt = new Date(Date.now() + 300_000);
    const spent = await Promise.all(Array.from({ length: 20 }, (_, i) => ledgers[i % 4]!.spend(stateId, expiresAt)));
    expect(spent.filter(Boolean)).toHaveLength(1);
    expect(await ledgers[0]!.spend(stateId, expiresAt)).toBe(false);
    expect(await ledgers[1]!.spend(randomUUID(), expiresAt)).toBe(true);
  });

  it('prunes spent states once they have expired', async () => {
    const sql = connect(db.runtimeUrl, { max: 1 });
    pools.push(sql);
    const ledger = new PostgresConfirmationLedger(sql);
    const old = randomUUID();
    expect(await ledger.spend(old, new Date(Date.now() - 1_000))).toBe(true);
    const kept = randomUUID();
    expect(await ledger.spend(kept, new Date(Date.now() + 60_000))).toBe(true);
    const rows = await sql<{ state_id: string }[]>`SELECT state_id FROM pingone_mcp.spent_confirmations WHERE state_id IN (${old}, ${kept})`;
    expect(rows.map((r) => r.state_id)).toEqual([kept]);
  });
});
