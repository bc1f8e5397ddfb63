import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Sql } from '../../src/store/postgres/connect.js';
import { trailRows, verifyTrail } from '../../src/store/postgres/trails.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { ENVIRONMENT_ID } from '../audit/helpers-entry.js';
import { createTestDatabase, SKIP_HINT, testServer, type TestDatabase } from './support/database.js';

/**
 * Four replica processes sharing one database, eight operators, 400 calls: the
 * write path's stores without the transport (the HTTP replica test drives the
 * same through four servers). Limits exact, one chain, one outcome per call.
 */
const server = testServer();
if ('unavailable' in server) console.warn(`${SKIP_HINT} (${server.unavailable})`);
const fixture = fileURLToPath(new URL('./fixtures/replica.ts', import.meta.url));
const REPLICAS = 4;
const CALLS = 100;
const SERVER_LIMIT = 45;
const OPERATOR_LIMIT = 6;

function runReplica(url: string, replica: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', fixture, url, String(replica), String(CALLS), String(SERVER_LIMIT), String(OPERATOR_LIMIT)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => (code === 0 && output.includes('done') ? resolve() : reject(new Error(`replica ${replica} exited ${code}: ${output}`))));
  });
}

describe.skipIf('unavailable' in server)('four replicas on one database', () => {
  let db: TestDatabase;
  let sql: Sql;
  beforeAll(async () => {
    db = await createTestDatabase((server as { url: string }).url);
    sql = connect(db.runtimeUrl, { max: 2 });
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it('allow exactly the limits, keep one dense chain, and record one outcome per call', async () => {
    await Promise.all(Array.from({ length: REPLICAS }, (_, r) => runReplica(db.runtimeUrl, r)));

    const key = { environmentId: ENVIRONMENT_ID, scope: 'tenant' as const };
    const records: AuditRecord[] = [];
    for await (const row of trailRows(sql, key)) records.push(JSON.parse(row.line) as AuditRecord);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    expect(await verifyTrail(sql, key)).toMatchObject({ ok: true, records: records.length });

    const intents = records.filter((r) => r.phase === 'intent');
    const outcomes = records.filter((r) => r.phase === 'outcome');
    // Every call has exactly one outcome, and every intent comes before its own outcome.
    expect(outcomes).toHaveLength(REPLICAS * CALLS);
    expect(new Set(outcomes.map((r) => r.auditId)).size).toBe(REPLICAS * CALLS);
    const outcomeSeq = new Map(outcomes.map((r) => [r.auditId, r] as const));
    for (const intent of intents) {
      const outcome = outcomeSeq.get(intent.auditId);
      expect(outcome?.outcome).toBe('unlocked');
      expect(outcome!.seq).toBeGreaterThan(intent.seq);
    }
    // The server-wide limit, exact to the call, and no operator past theirs.
    expect(intents).toHaveLength(SERVER_LIMIT);
    expect(outcomes.filter((r) => r.outcome === 'unlocked')).toHaveLength(SERVER_LIMIT);
    const perOperator = new Map<string, number>();
    for (const intent of intents) perOperator.set(intent.actor.operator ?? '', (perOperator.get(intent.actor.operator ?? '') ?? 0) + 1);
    for (const count of perOperator.values()) expect(count).toBeLessThanOrEqual(OPERATOR_LIMIT);
    const denied = outcomes.filter((r) => r.outcome === 'denied');
    expect(denied).toHaveLength(REPLICAS * CALLS - SERVER_LIMIT);
    expect(denied.every((r) => r.reason === 'limit:server' || r.reason === 'limit:operator')).toBe(true);
  }, 120_000);
});
