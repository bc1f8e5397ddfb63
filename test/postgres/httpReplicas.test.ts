import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.js';
import { environmentFor } from '../../src/sandbox/connect.js';
import { SANDBOX_ENVIRONMENT_ID } from '../../src/sandbox/seed.js';
import { connect, type Sql } from '../../src/store/postgres/connect.js';
import { trailRows, verifyTrail } from '../../src/store/postgres/trails.js';
import { makeKey, signToken, startTestIssuer, type TestIssuer } from '../auth/testIssuer.js';
import { startTestEmulator, type TestEmulator } from '../support/emulator.js';
import { createTestDatabase, SKIP_HINT, type TestDatabase } from './support/database.js';
import { connectClient, seedWithLockedUsers, startReplica, unlock, waitForReady, type CallAnswer, type Replica } from './support/replicaServers.js';
import { freePort } from '../support/ports.js';
import { startTestPostgres, type TestPostgres } from './support/server.js';

/**
 * Issue 14's replica test: four built servers in HTTP mode on one database
 * against one emulator. 400 concurrent writes keep one dense chain and the
 * global limit exact; a replica killed mid-write leaves its intent last; a
 * database that stops makes calls fail closed and they recover when it is
 * back, without restarting a server. Needs a PostgreSQL server of its own
 * (it is stopped mid-run), so it always uses the embedded binaries.
 */
let pg: TestPostgres | undefined;
try {
  pg = await startTestPostgres();
} catch (err) {
  const reason = err instanceof Error ? err.message : String(err);
  if (process.env.CI === 'true') throw new Error(`the replica test needs its own PostgreSQL server and none could be started: ${reason}`);
  console.warn(`${SKIP_HINT} (${reason})`);
}

const REPLICAS = 4;
const CONFIRM_KEY = randomBytes(32).toString('base64');
const TRAIL = { environmentId: SANDBOX_ENVIRONMENT_ID.toLowerCase(), scope: 'tenant' as const };

let replicas: Replica[] = [];
let issuer: TestIssuer | undefined;
let clients: Client[] = [];
let emulator: TestEmulator | undefined;
let db: TestDatabase | undefined;
let sql: Sql | undefined;

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close().catch(() => {})));
  for (const replica of replicas.splice(0)) replica.kill('SIGKILL');
  await sql?.end();
  sql = undefined;
  await emulator?.close();
  emulator = undefined;
  await db?.drop();
  db = undefined;
  await issuer?.close();
  issuer = undefined;
});
afterAll(async () => {
  await pg?.destroy();
});

/**
 * A fresh database and emulator, and four replicas on them, ready (a worker token fetched).
 * Without tokens the clients connect unauthenticated (loopback, no OAuth).
 */
async function startDeployment(
  users: number,
  env: (replica: number) => Record<string, string>,
  emulatorOptions: { latencyMs?: number } = {},
  connectClients = true,
): Promise<void> {
  db = await createTestDatabase(pg!.adminUrl);
  sql = connect(db.runtimeUrl, { max: 2 });
  emulator = await startTestEmulator({ seed: seedWithLockedUsers(users), ...emulatorOptions });
  const auditDir = mkdtempSync(join(tmpdir(), 'p1mcp-unused-trail-'));
  replicas = Array.from({ length: REPLICAS }, (_, r) =>
    startReplica(`replica-${r}`, {
      ...environmentFor(emulator!),
      PINGONE_MCP_DATABASE_URL: db!.runtimeUrl,
      PINGONE_MCP_CONFIRM_KEY: CONFIRM_KEY,
      // The file trail must stay untouched: with a database, the trail is there.
      PINGONE_MCP_AUDIT_LOG: join(auditDir, `replica-${r}.jsonl`),
      ...env(r),
    }),
  );
  const urls = await Promise.all(replicas.map((replica) => replica.url));
  for (const url of urls) expect(await waitForReady(url, 200)).toBe(true);
  // Over HTTP the configured operator does not apply: each replica's client names itself, and the trail records it.
  if (connectClients) clients = await Promise.all(urls.map((url, r) => connectClient(url, undefined, `replica-${r}`)));
}

async function chain(): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for await (const row of trailRows(sql!, TRAIL)) records.push(JSON.parse(row.line) as AuditRecord);
  return records;
}

function writesSent(): number {
  return emulator!.requests.filter((request) => request.route === 'user.action').length;
}

function tally(answers: readonly CallAnswer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const key = answer.outcome ?? 'no outcome';
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * The calls that did not write: denied by a limit, or, on a machine too loaded to serve them all
 * within the 30 s call ceiling, refused as busy (recorded, nothing sent). Nothing else, and none without an outcome.
 */
function expectOnlyLimitsOrLoad(answers: readonly CallAnswer[], expected: number): void {
  const others = answers.filter((answer) => answer.outcome !== 'unlocked');
  expect(others).toHaveLength(expected);
  for (const answer of others) {
    if (answer.outcome === 'denied') continue;
    expect(answer.outcome, answer.error).toBe('failed');
    expect(answer.error).toMatch(/Refused: this server is busy/);
  }
}

describe.skipIf(pg === undefined)('four replicas in HTTP mode on one database', () => {
  beforeAll(() => {
    expect(pg).toBeDefined();
  });

  it('400 concurrent writes: one dense chain that verifies, the global limit exact to the call, an outcome for every call', async () => {
    const CALLS = 400;
    const LIMIT = 150;
    await startDeployment(CALLS, () => ({ PINGONE_MCP_MAX_WRITES_PER_MINUTE: String(LIMIT) }));

    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: CALLS }, (_, k) => unlock(clients[k % REPLICAS]!, `r${k}`, `REPLICA-${k}`)));
    const seconds = (performance.now() - started) / 1000;

    const counts = tally(answers);
    expect(counts.unlocked).toBe(LIMIT);
    expect(writesSent()).toBe(LIMIT);
    expectOnlyLimitsOrLoad(answers, CALLS - LIMIT);

    const records = await chain();
    expect(records.map((record) => record.seq)).toEqual(records.map((_, i) => i + 1));
    expect(await verifyTrail(sql!, TRAIL)).toMatchObject({ ok: true, records: records.length });
    const intents = records.filter((record) => record.tool === 'unlock_user' && record.phase === 'intent');
    const outcomes = records.filter((record) => record.tool === 'unlock_user' && record.phase === 'outcome');
    expect(intents).toHaveLength(LIMIT);
    expect(outcomes).toHaveLength(CALLS);
    expect(new Set(outcomes.map((record) => record.auditId)).size).toBe(CALLS);
    const outcomeOf = new Map(outcomes.map((record) => [record.auditId, record] as const));
    for (const intent of intents) {
      expect(outcomeOf.get(intent.auditId)).toMatchObject({ outcome: 'unlocked' });
      expect(outcomeOf.get(intent.auditId)!.seq).toBeGreaterThan(intent.seq);
    }
    expect(outcomes.filter((record) => record.outcome === 'denied')).toHaveLength(counts.denied ?? 0);
    // Each denied call was told why: the server-wide limit, shared by the replicas.
    for (const answer of answers.filter((a) => a.outcome === 'denied')) expect(answer.error).toMatch(/at most 150 writes per minute \(PINGONE_MCP_MAX_WRITES_PER_MINUTE\) and that limit is reached/);
    // Every replica served calls, and each one's share of the chain is there.
    for (let r = 0; r < REPLICAS; r++) expect(outcomes.some((record) => record.actor.client === `replica-${r}/1.0.0`)).toBe(true);
    console.log(
      `replica test: ${CALLS} concurrent calls through ${REPLICAS} replicas in ${seconds.toFixed(1)} s; ` +
        `${counts.unlocked} unlocked (limit ${LIMIT}), ${counts.denied} denied, ${counts.failed ?? 0} refused as busy; ${records.length} records, seq 1…${records.length} dense, chain verifies`,
    );
  }, 180_000);

  it('kill -9 of one replica mid-write: the chain verifies and its intent is the last record for that call', async () => {
    const PER_REPLICA = 10;
    await startDeployment(REPLICAS * PER_REPLICA, () => ({ PINGONE_MCP_MAX_WRITES_PER_MINUTE: '1000' }), { latencyMs: 300 });

    const calls = Array.from({ length: REPLICAS * PER_REPLICA }, (_, k) => unlock(clients[k % REPLICAS]!, `r${k}`, `KILL-${k}`));
    // Wait until replica 0 has committed an intent (its write is on its way to PingOne), then kill it.
    let intentOfVictim = false;
    for (let i = 0; i < 300 && !intentOfVictim; i++) {
      intentOfVictim = (await chain()).some((record) => record.phase === 'intent' && record.actor.client === 'replica-0/1.0.0');
      if (!intentOfVictim) await new Promise((r) => setTimeout(r, 20));
    }
    expect(intentOfVictim).toBe(true);
    replicas[0]!.kill('SIGKILL');
    const answers = await Promise.all(calls);
    expect(await replicas[0]!.exited).toBeNull();

    // The survivors answered every call of theirs.
    const survivors = answers.filter((_, k) => k % REPLICAS !== 0);
    expect(tally(survivors)).toEqual({ unlocked: (REPLICAS - 1) * PER_REPLICA });

    const records = await chain();
    expect(records.map((record) => record.seq)).toEqual(records.map((_, i) => i + 1));
    expect(await verifyTrail(sql!, TRAIL)).toMatchObject({ ok: true, records: records.length });
    const byCall = new Map<string, AuditRecord[]>();
    for (const record of records) byCall.set(record.auditId, [...(byCall.get(record.auditId) ?? []), record]);
    const cutShort = [...byCall.values()].filter((own) => own.at(-1)!.phase === 'intent');
    expect(cutShort.length).toBeGreaterThan(0);
    for (const own of cutShort) expect(own.at(-1)!.actor.client).toBe('replica-0/1.0.0');
    // No survivor's call was left without its outcome.
    for (const own of byCall.values()) if (own[0]!.actor.client !== 'replica-0/1.0.0') expect(own.at(-1)!.phase).toBe('outcome');
    console.log(`kill -9 test: ${cutShort.length} call(s) of the killed replica end with their intent; ${records.length} records verify`);
  }, 180_000);

  it('PostgreSQL stops mid-run: calls fail closed with a clear error, and recover when it is back without restarting the servers', async () => {
    await startDeployment(3 * REPLICAS, () => ({ PINGONE_MCP_MAX_WRITES_PER_MINUTE: '1000' }));
    const before = await Promise.all(clients.map((client, r) => unlock(client, `r${r}`, 'OUTAGE-1')));
    expect(tally(before)).toEqual({ unlocked: REPLICAS });

    await pg!.stop();
    const stoppedAt = performance.now();
    const during = await Promise.all(clients.map((client, r) => unlock(client, `r${REPLICAS + r}`, 'OUTAGE-2')));
    for (const answer of during) {
      expect(answer.outcome).not.toBe('unlocked');
      expect(answer.error).toMatch(/cannot write the audit trail in 127\.0\.0\.1:\d+\/pingone_mcp_test_\w+ .*unreachable/);
      expect(answer.error).toMatch(/nothing is changed in PingOne/);
      expect(answer.error).not.toContain(CONFIRM_KEY);
    }
    // Fail closed: no write reached PingOne while the trail could not record it.
    expect(writesSent()).toBe(REPLICAS);
    const urls = await Promise.all(replicas.map((replica) => replica.url));
    for (const url of urls) expect(await waitForReady(url, 503)).toBe(true);

    await pg!.start();
    const restartedAt = performance.now();
    const after: CallAnswer[] = [];
    for (const [r, client] of clients.entries()) {
      let answer: CallAnswer = {};
      for (let attempt = 0; attempt < 100 && answer.outcome !== 'unlocked'; attempt++) {
        answer = await unlock(client, `r${REPLICAS + r}`, 'OUTAGE-3');
        if (answer.outcome !== 'unlocked') await new Promise((resolve) => setTimeout(resolve, 100));
      }
      after.push(answer);
    }
    const recoveredAt = performance.now();
    expect(tally(after)).toEqual({ unlocked: REPLICAS });
    for (const url of urls) expect(await waitForReady(url, 200)).toBe(true);
    expect(writesSent()).toBe(2 * REPLICAS);

    const records = await chain();
    expect(records.map((record) => record.seq)).toEqual(records.map((_, i) => i + 1));
    expect(await verifyTrail(sql!, TRAIL)).toMatchObject({ ok: true, records: records.length });
    expect(records.filter((record) => record.phase === 'intent')).toHaveLength(2 * REPLICAS);
    console.log(
      `outage test: refused while down (${((restartedAt - stoppedAt) / 1000).toFixed(1)} s), all ${REPLICAS} replicas writing again ` +
        `${((recoveredAt - restartedAt) / 1000).toFixed(1)} s after PostgreSQL restarted, no server restarted`,
    );
  }, 180_000);

  it('eight operators with verified tokens: the limit of each exact to the call across the replicas', async () => {
    const CALLS = 400;
    const OPERATORS = 8;
    const PER_OPERATOR = 9;
    issuer = await startTestIssuer();
    const key = await makeKey('k1');
    issuer.published = [key];
    const resources = await Promise.all(Array.from({ length: REPLICAS }, async () => `http://127.0.0.1:${await freePort()}/mcp`));
    await startDeployment(
      CALLS,
      (r) => ({
        PINGONE_MCP_HTTP_PORT: new URL(resources[r]!).port,
        PINGONE_MCP_RESOURCE: resources[r]!,
        PINGONE_MCP_OAUTH_ISSUER: issuer!.issuer,
        PINGONE_MCP_MAX_WRITES_PER_MINUTE: '1000',
        PINGONE_MCP_MAX_WRITES_PER_OPERATOR_PER_MINUTE: String(PER_OPERATOR),
      }),
      {},
      false,
    );
    // One client per operator and replica, each with that operator's token for that replica.
    const sessions: Client[][] = [];
    for (let o = 0; o < OPERATORS; o++) {
      const subject = `00000000-0000-4000-9000-00000000000${o}`;
      const tokens = await Promise.all(
        resources.map((resource) =>
          signToken({ key, issuer: issuer!.issuer, audience: resource, subject, claims: { scope: 'helpdesk:read helpdesk:write', client_id: 'replica-test', preferred_username: `op${o}` } }),
        ),
      );
      sessions.push(await Promise.all(resources.map((resource, r) => connectClient(new URL(resource), tokens[r]))));
    }
    clients = sessions.flat();

    const operatorOf = (k: number): number => k % OPERATORS;
    const answers = await Promise.all(Array.from({ length: CALLS }, (_, k) => unlock(sessions[operatorOf(k)]![Math.floor(k / OPERATORS) % REPLICAS]!, `r${k}`, `OPS-${k}`)));

    for (let o = 0; o < OPERATORS; o++) {
      const own = answers.filter((_, k) => operatorOf(k) === o);
      expect(tally(own).unlocked).toBe(PER_OPERATOR);
      expectOnlyLimitsOrLoad(own, own.length - PER_OPERATOR);
      for (const answer of own.filter((a) => a.outcome === 'denied')) expect(answer.error).toMatch(/writes per minute per operator \(PINGONE_MCP_MAX_WRITES_PER_OPERATOR_PER_MINUTE\)/);
    }
    expect(writesSent()).toBe(OPERATORS * PER_OPERATOR);
    const records = await chain();
    expect(records.map((record) => record.seq)).toEqual(records.map((_, i) => i + 1));
    expect(await verifyTrail(sql!, TRAIL)).toMatchObject({ ok: true, records: records.length });
    expect(records.filter((record) => record.tool === 'unlock_user' && record.phase === 'intent')).toHaveLength(OPERATORS * PER_OPERATOR);
    expect(new Set(records.filter((record) => record.phase === 'outcome').map((record) => record.auditId)).size).toBe(CALLS);
    // Every record names the verified operator who made the call, whichever replica wrote it.
    for (const record of records) {
      const o = Number(/^OPS-(\d+)$/.exec(record.reason ?? '')?.[1]) % OPERATORS;
      expect(record.actor).toMatchObject({ operator: `op${o}`, verified: { issuer: issuer!.issuer, subject: `00000000-0000-4000-9000-00000000000${o}` } });
    }
    const perOperator = new Map<string, number>();
    for (const record of records) if (record.phase === 'intent') perOperator.set(record.actor.verified!.subject, (perOperator.get(record.actor.verified!.subject) ?? 0) + 1);
    expect([...perOperator.values()]).toEqual(Array.from({ length: OPERATORS }, () => PER_OPERATOR));
    console.log(`operator test: ${CALLS} calls by ${OPERATORS} verified operators through ${REPLICAS} replicas: each operator ${PER_OPERATOR} writes (limit ${PER_OPERATOR}), the rest denied`);
  }, 180_000);
});
