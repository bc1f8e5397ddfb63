/**
 * HTTP load: O operators, each an MCP client with a real signed access token
 * from a loopback issuer (its own key and JWKS, checked by the server's JWT
 * verifier), half 2026-07-28 and half 2025-era with sessions, making N tool
 * calls in all over Streamable HTTP against an emulator with latency and a
 * per-second rate limit. The server runs in this process, composed as
 * `--http` composes it (the built binary takes OAuth tokens only once the
 * verifier is wired into its start-up).
 *
 *   npm run load:http -- --operators 50 --calls 2000
 *
 * Options: --operators O (50) --calls N (2000) --write-every K (7: one call in
 * K unlocks a locked user, sent first as a burst, half of them by a fifth of
 * the operators; the rest look users up)
 * --write-ceiling W (90 writes per minute, PINGONE_MCP_MAX_WRITES_PER_MINUTE)
 * --operator-ceiling P (2, PINGONE_MCP_MAX_WRITES_PER_OPERATOR_PER_MINUTE)
 * --concurrent C (16, PINGONE_MCP_MAX_CONCURRENT_CALLS) --latency MS (20)
 * --rate-limit R (200 PingOne requests per second) --era mixed|modern|legacy.
 *
 * Checks, exit 1 when one fails: every outcome is the one expected; the
 * write limits are exact (no operator above P, a refusal for the operator's
 * limit only once they had P, and in all exactly min(W, sum of min(P, tries))
 * unlocks, each one sent to PingOne once); the audit trail holds exactly one
 * outcome record per call, each naming the verified operator who made it, and verifies.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { assemble } from '../src/app.js';
import type { AuditRecord } from '../src/audit/record.js';
import { openAuditTrail } from '../src/audit/trail.js';
import { verifyAuditFile } from '../src/audit/verify.js';
import { createResourceServer } from '../src/auth/resourceServer.js';
import { loadConfig } from '../src/config.js';
import { createRequestGuard } from '../src/http/guard.js';
import { HttpService } from '../src/http/listener.js';
import { createLogger } from '../src/logger.js';
import type { User } from '../src/pingone/model.js';
import { settingsFor } from '../src/sandbox/connect.js';
import { DEMO_USERS } from '../src/sandbox/seed.js';
import { createServer } from '../src/server.js';
import { startTestEmulator as startEmulator, type TestEmulator as Emulator } from '../test/support/emulator.js';
import { makeKey, signToken, startTestIssuer, type TestIssuer } from '../test/auth/testIssuer.js';

const READ = 'helpdesk:read';
const WRITE = 'helpdesk:write';

const { values } = parseArgs({
  options: {
    operators: { type: 'string', default: '50' },
    calls: { type: 'string', default: '2000' },
    'write-every': { type: 'string', default: '7' },
    'write-ceiling': { type: 'string', default: '90' },
    'operator-ceiling': { type: 'string', default: '2' },
    concurrent: { type: 'string', default: '16' },
    latency: { type: 'string', default: '20' },
    'rate-limit': { type: 'string', default: '200' },
    era: { type: 'string', default: 'mixed' },
    'audit-dir': { type: 'string' },
  },
});
const operators = Number(values.operators);
const calls = Number(values.calls);
const writeEvery = Number(values['write-every']);
const ceiling = Number(values['write-ceiling']);
const operatorCeiling = Number(values['operator-ceiling']);
const concurrent = Number(values.concurrent);
const latencyMs = Number(values.latency);
const rateLimit = Number(values['rate-limit']);
const era = values.era as 'mixed' | 'modern' | 'legacy';

/** Locked copies of jdoe under fresh IDs: each write has a user of its own to unlock. */
function seedLockedUsers(emulator: Emulator, count: number): User[] {
  const template = emulator.getUser(DEMO_USERS.jdoe.id) as User;
  return Array.from({ length: count }, (_, i) => {
    const username = `locked-${String(i).padStart(4, '0')}`;
    const user = { ...structuredClone(template), id: randomUUID(), username, email: `${username}@example.com`, account: { status: 'LOCKED', canAuthenticate: false } } as User;
    emulator.putUser(user);
    return user;
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

/**
 * The server as `--http` composes it, in this process: the tools' HTTP
 * dependencies, the listener, and the bearer guard with the real JWT
 * verifier for the issuer (the audience is the endpoint's URL, known once listening).
 */
async function startServer(emulator: Emulator, issuer: TestIssuer, auditPath: string): Promise<{ url: URL; callCeiling: { total: number; perOperator: number }; stop(): Promise<void> }> {
  const env = {
    PINGONE_MCP_CONFIRM: 'never',
    PINGONE_MCP_MAX_WRITES_PER_MINUTE: String(ceiling),
    PINGONE_MCP_MAX_WRITES_PER_OPERATOR_PER_MINUTE: String(operatorCeiling),
    PINGONE_MCP_MAX_CONCURRENT_CALLS: String(concurrent),
    PINGONE_MCP_MAX_QUEUED_CALLS: '10000',
  };
  const config = loadConfig(env, { sandbox: true, http: true, auditLog: auditPath, logLevel: 'silent' });
  const logger = createLogger('silent');
  const parts = assemble({ config, pingone: settingsFor(emulator), audit: await openAuditTrail(auditPath), logger, sandbox: false });
  const service = new HttpService({
    settings: { ...config.http!, port: 0, maxSessions: Math.max(config.http!.maxSessions, operators * 2) },
    factory: (ctx) => createServer(parts.httpDeps, ctx.authInfo),
    // The endpoint's URL is the tokens' audience, known once listening.
    guardFor: (endpoint) => createRequestGuard({ auth: createResourceServer({ issuer: issuer.issuer, resource: endpoint.href, policy: config.oauth.policy }), trustProxy: false }),
    ready: async () => true,
    metrics: () => '',
    logger,
  });
  const url = new URL((await service.listen()).url);
  return {
    url,
    callCeiling: { total: config.calls.maxConcurrent, perOperator: config.calls.maxConcurrentPerOperator },
    stop: async () => {
      await service.close();
      await parts.close();
    },
  };
}

interface Outcome {
  index: number;
  operator: number;
  write: boolean;
  outcome: string;
  code?: string;
  /** For a write refused by the limits: which one (the summary names the setting). */
  limit?: 'server' | 'operator';
  auditId?: string;
}

async function main(): Promise<number> {
  const emulator = await startEmulator({ latencyMs, rateLimitPerSecond: rateLimit });
  const issuer = await startTestIssuer();
  const key = await makeKey('load-1');
  issuer.published = [key];
  const writes = Math.floor((calls - 1) / writeEvery) + 1;
  const locked = seedLockedUsers(emulator, writes);
  const auditPath = join(mkdtempSync(join(values['audit-dir'] ?? tmpdir(), 'p1mcp-loadhttp-')), 'audit.jsonl');
  const server = await startServer(emulator, issuer, auditPath);
  process.stdout.write(
    `server ${server.url.href}; ${operators} operators with signed tokens, ${calls} calls (${writes} writes), write limits ${ceiling}/min server-wide and ${operatorCeiling}/min per operator, call ceiling ${server.callCeiling.total} in total and ${server.callCeiling.perOperator} per operator, PingOne latency ${latencyMs} ms, rate limit ${rateLimit}/s\n`,
  );

  const subjects = Array.from({ length: operators }, () => randomUUID());
  const clients = await Promise.all(
    subjects.map(async (subject, i) => {
      const token = await signToken({ key, issuer: issuer.issuer, audience: server.url.href, subject, expiresIn: 1800, claims: { scope: `${READ} ${WRITE}`, preferred_username: `operator-${i}` } });
      const client = new Client({ name: `operator-${i}`, version: '1.0.0' }, (era === 'mixed' ? i % 2 === 0 : era === 'modern') ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {});
      await client.connect(new StreamableHTTPClientTransport(server.url, { authProvider: { token: async () => token } }));
      return client;
    }),
  );

  // The writes go first, as a burst, so the limits' rolling minute holds all of them. Half of them fall on
  // a fifth of the operators (busy ones); the other half spread over everyone.
  const busy = Math.max(1, Math.floor(operators / 5));
  const writesOf = subjects.map((): number[] => []);
  for (let k = 0; k < writes; k++) writesOf[k < writes / 2 ? k % busy : k % operators]!.push(k);
  const latencies: number[] = [];
  const results: Outcome[] = [];
  let nextRead = writes;
  const started = performance.now();
  let lastWriteEnded = started;
  const send = async (client: Client, operator: number, index: number, write: boolean): Promise<void> => {
    const request = write
      ? { name: 'unlock_user', arguments: { user: locked[index]!.username, reason: `LOAD-${index}` } }
      : { name: 'find_user', arguments: { query: 'bsmith' } };
    const t0 = performance.now();
    try {
      const result = await client.callTool(request, { timeout: 120_000 });
      const structured = (result.structuredContent ?? {}) as { outcome?: string; summary?: string; auditId?: string; error?: { code?: string } };
      const code = structured.error?.code;
      const limit = code === 'WRITE_RATE_LIMITED' ? (structured.summary?.includes('per operator') ? 'operator' : 'server') : undefined;
      results.push({ index, operator, write, outcome: structured.outcome ?? 'none', ...(code ? { code } : {}), ...(limit ? { limit } : {}), ...(structured.auditId ? { auditId: structured.auditId } : {}) });
    } catch (error) {
      const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
      results.push({ index, operator, write, outcome: `protocol error: ${(error as Error).message.slice(0, 100)} (${cause?.code ?? cause?.message ?? 'no cause'})` });
    }
    latencies.push(performance.now() - t0);
    if (write) lastWriteEnded = performance.now();
  };
  const writeAll = (operator: number) => writesOf[operator]!.reduce((done, index) => done.then(() => send(clients[operator]!, operator, index, true)), Promise.resolve());
  // The busy operators first (they meet their own limit with the server's far from full), then everyone else's writes (they meet the server's).
  await Promise.all(clients.map((_, operator) => (operator < busy ? writeAll(operator) : undefined)));
  await Promise.all(clients.map((_, operator) => (operator >= busy ? writeAll(operator) : undefined)));
  await Promise.all(
    clients.map(async (client, operator) => {
      while (nextRead < calls) await send(client, operator, nextRead++, false);
    }),
  );
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage();
  await Promise.all(clients.map((client) => client.close().catch(() => {})));
  await server.stop();
  await issuer.close();

  const failures: string[] = [];
  const wrongReads = results.filter((r) => !r.write && r.outcome !== 'found');
  const otherWrites = results.filter((r) => r.write && r.outcome !== 'unlocked' && !(r.outcome === 'denied' && r.code === 'WRITE_RATE_LIMITED'));
  if (wrongReads.length > 0) failures.push(`${wrongReads.length} lookups did not end as found (first: ${wrongReads[0]?.outcome})`);
  if (otherWrites.length > 0) failures.push(`${otherWrites.length} writes ended neither unlocked nor WRITE_RATE_LIMITED (first: ${otherWrites[0]?.outcome} ${otherWrites[0]?.code ?? ''})`);

  // The limits, exactly: per operator, and in all.
  const writesBy = (operator: number) => results.filter((r) => r.write && r.operator === operator);
  const unlockedBy = subjects.map((_, i) => writesBy(i).filter((r) => r.outcome === 'unlocked').length);
  const unlocked = unlockedBy.reduce((sum, n) => sum + n, 0);
  const byOperatorLimit = results.filter((r) => r.limit === 'operator').length;
  const byServerLimit = results.filter((r) => r.limit === 'server').length;
  const writePhaseMs = lastWriteEnded - started;
  const sentWrites = emulator.requests.filter((r) => r.method === 'POST' && r.route !== 'token' && r.status !== undefined && r.status < 300).length;
  if (writePhaseMs < 60_000) {
    const over = unlockedBy.findIndex((n) => n > operatorCeiling);
    if (over >= 0) failures.push(`operator ${over} made ${unlockedBy[over]} writes, above the per-operator limit ${operatorCeiling}`);
    const early = subjects.findIndex((_, i) => writesBy(i).some((r) => r.limit === 'operator') && unlockedBy[i] !== operatorCeiling);
    if (early >= 0) failures.push(`operator ${early} was refused for the per-operator limit after ${unlockedBy[early]} writes, not ${operatorCeiling}`);
    const expected = Math.min(ceiling, subjects.reduce((sum, _, i) => sum + Math.min(operatorCeiling, writesBy(i).length), 0));
    if (unlocked !== expected) failures.push(`write limits not exact: ${unlocked} unlocked, expected ${expected}`);
    if (byServerLimit > 0 && unlocked !== ceiling) failures.push(`${byServerLimit} writes refused for the server-wide limit with only ${unlocked} of ${ceiling} used`);
    if (sentWrites !== unlocked) failures.push(`PingOne accepted ${sentWrites} writes for ${unlocked} unlocked`);
  } else {
    failures.push(`the writes took ${Math.round(writePhaseMs / 1000)} s, longer than the limits' minute: the exact check needs them within one minute`);
  }

  // One outcome per call, each naming the verified operator who made it.
  const records = readFileSync(auditPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as AuditRecord);
  const outcomes = records.filter((r) => r.phase === 'outcome');
  const byAuditId = new Map<string, AuditRecord[]>();
  for (const record of outcomes) byAuditId.set(record.auditId, [...(byAuditId.get(record.auditId) ?? []), record]);
  const everyCallOnce = results.every((r) => r.auditId !== undefined && byAuditId.get(r.auditId)?.length === 1) && outcomes.length === calls;
  if (!everyCallOnce) failures.push(`audit: ${outcomes.length} outcome records for ${calls} calls, not one per call`);
  const misattributed = results.filter((r) => {
    const actor = r.auditId === undefined ? undefined : byAuditId.get(r.auditId)?.[0]?.actor;
    return actor?.verified?.subject !== subjects[r.operator] || actor?.verified?.issuer !== issuer.issuer || actor?.operator !== `operator-${r.operator}`;
  }).length;
  if (misattributed > 0) failures.push(`audit: ${misattributed} outcome records do not name the verified operator who made the call`);
  const verified = await verifyAuditFile(auditPath);
  if (!verified.ok) failures.push('audit trail does not verify');
  const rateLimited = emulator.requests.filter((r) => r.status === 429).length;
  await emulator.close();

  const sorted = [...latencies].sort((a, b) => a - b);
  process.stdout.write(
    [
      `write limits used: ${ceiling}/min server-wide, ${operatorCeiling}/min per operator; ${unlocked} unlocked, ${byOperatorLimit} refused for the per-operator limit, ${byServerLimit} for the server-wide one, of ${writes} writes sent within ${(writePhaseMs / 1000).toFixed(1)} s`,
      `call ceiling used: ${server.callCeiling.total} in total, ${server.callCeiling.perOperator} per operator`,
      `latency per call: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`,
      `throughput: ${((calls / elapsedMs) * 1000).toFixed(0)} calls/s over ${(elapsedMs / 1000).toFixed(1)} s; PingOne answered 429 ${rateLimited} times`,
      `CPU: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s for server and load generator together (one process, 2 shared cores)`,
      `audit: ${outcomes.length} outcome records, ${records.length - outcomes.length} intents, one outcome per call: ${everyCallOnce ? 'yes' : 'NO'}; each names its verified operator: ${misattributed === 0 ? 'yes' : 'NO'}; chain verifies: ${verified.ok ? 'yes' : 'NO'}`,
      failures.length === 0 ? 'all checks passed' : `FAILED:\n  ${failures.join('\n  ')}`,
      '',
    ].join('\n'),
  );
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`load:http failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
