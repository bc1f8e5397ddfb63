/**
 * HTTP load: O operators (MCP clients, half 2026-07-28, half 2025-era with
 * sessions) making N tool calls in all over Streamable HTTP to the built
 * server (dist/index.js --http, tenant mode) against an emulator started
 * here with latency and a per-second rate limit.
 *
 *   npm run build && npm run load:http -- --operators 50 --calls 2000
 *
 * Options: --operators O (50) --calls N (2000) --write-every K (7: one call in
 * K unlocks a locked user, sent first as a burst; the rest look users up) --write-ceiling W (100
 * writes per minute, PINGONE_MCP_MAX_WRITES_PER_MINUTE) --latency MS (20)
 * --rate-limit R (200 PingOne requests per second) --era mixed|modern|legacy
 * (mixed: every other operator speaks 2026-07-28).
 *
 * Checks, exit 1 when one fails: every outcome is the one expected; the
 * server-wide write ceiling is exact (exactly W unlocks in a run shorter than
 * its minute, every other write denied WRITE_RATE_LIMITED and not sent);
 * the audit trail holds exactly one outcome record per call, and verifies.
 * Per-operator limits need verified operators (OAuth) and the per-operator
 * limiter; the script says whether this build has them.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { AuditRecord } from '../src/audit/record.js';
import { verifyAuditFile } from '../src/audit/verify.js';
import type { User } from '../src/pingone/model.js';
import { environmentFor } from '../src/sandbox/connect.js';
import { startTestEmulator as startEmulator, type TestEmulator as Emulator } from '../test/support/emulator.js';
import { DEMO_USERS } from '../src/sandbox/seed.js';

const BIN = resolve(import.meta.dirname, '../dist/index.js');

const { values } = parseArgs({
  options: {
    operators: { type: 'string', default: '50' },
    calls: { type: 'string', default: '2000' },
    'write-every': { type: 'string', default: '7' },
    'write-ceiling': { type: 'string', default: '100' },
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

/** CPU seconds a process has used so far (Linux /proc; NaN elsewhere). */
function cpuSecondsOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function startServer(emulator: Emulator, auditPath: string): Promise<{ url: URL; pid: number | undefined; stop(): Promise<number | null>; stderr(): string }> {
  const child = spawn(process.execPath, [BIN, '--http'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: mkdtempSync(join(tmpdir(), 'p1mcp-loadhttp-home-')),
      ...environmentFor(emulator),
      PINGONE_MCP_HTTP_PORT: '0',
      PINGONE_MCP_AUDIT_LOG: auditPath,
      PINGONE_MCP_LOG_LEVEL: 'info',
      PINGONE_MCP_CONFIRM: 'never',
      PINGONE_MCP_MAX_WRITES_PER_MINUTE: String(ceiling),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const url = await new Promise<URL>((done, fail) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const found = /"url":"([^"]+)"/.exec(stderr);
      if (found?.[1]) done(new URL(found[1]));
    });
    void exited.then(() => fail(new Error(`the server exited before listening: ${stderr.slice(-500)}`)));
  });
  return {
    url,
    pid: child.pid,
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function main(): Promise<number> {
  const emulator = await startEmulator({ latencyMs, rateLimitPerSecond: rateLimit });
  const writes = Math.floor((calls - 1) / writeEvery) + 1;
  const locked = seedLockedUsers(emulator, writes);
  const auditPath = join(mkdtempSync(join(values['audit-dir'] ?? tmpdir(), 'p1mcp-loadhttp-')), 'audit.jsonl');
  const server = await startServer(emulator, auditPath);
  process.stdout.write(`server ${server.url.href}; ${operators} operators, ${calls} calls (${writes} writes), write ceiling ${ceiling}/min, PingOne latency ${latencyMs} ms, rate limit ${rateLimit}/s\n`);

  const clients = await Promise.all(
    Array.from({ length: operators }, async (_, i) => {
      const client = new Client({ name: `operator-${i}`, version: '1.0.0' }, (era === 'mixed' ? i % 2 === 0 : era === 'modern') ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {});
      await client.connect(new StreamableHTTPClientTransport(server.url));
      return client;
    }),
  );

  const latencies: number[] = [];
  const results: Array<{ index: number; write: boolean; outcome: string; code?: string; auditId?: string }> = [];
  let next = 0;
  const started = performance.now();
  let lastWriteEnded = started;
  await Promise.all(
    clients.map(async (client) => {
      while (next < calls) {
        const index = next++;
        // The writes go first, as a burst: the ceiling's rolling minute then holds all of them.
        const write = index < writes;
        const request = write
          ? { name: 'unlock_user', arguments: { user: locked[index]!.username, reason: `LOAD-${index}` } }
          : { name: 'find_user', arguments: { query: 'bsmith' } };
        const t0 = performance.now();
        try {
          const result = await client.callTool(request, { timeout: 120_000 });
          const structured = (result.structuredContent ?? {}) as { outcome?: string; auditId?: string; error?: { code?: string } };
          results.push({ index, write, outcome: structured.outcome ?? 'none', ...(structured.error?.code ? { code: structured.error.code } : {}), ...(structured.auditId ? { auditId: structured.auditId } : {}) });
        } catch (error) {
          const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
          results.push({ index, write, outcome: `protocol error: ${(error as Error).message.slice(0, 100)} (${cause?.code ?? cause?.message ?? 'no cause'})` });
        }
        latencies.push(performance.now() - t0);
        if (write) lastWriteEnded = performance.now();
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const serverCpu = cpuSecondsOf(server.pid);
  const clientCpu = process.cpuUsage();
  await Promise.all(clients.map((client) => client.close().catch(() => {})));
  const exitCode = await server.stop();

  const failures: string[] = [];
  const unlocked = results.filter((r) => r.write && r.outcome === 'unlocked').length;
  const limited = results.filter((r) => r.write && r.outcome === 'denied' && r.code === 'WRITE_RATE_LIMITED').length;
  const wrongReads = results.filter((r) => !r.write && r.outcome !== 'found');
  const otherWrites = results.filter((r) => r.write && r.outcome !== 'unlocked' && !(r.outcome === 'denied' && r.code === 'WRITE_RATE_LIMITED'));
  if (wrongReads.length > 0) failures.push(`${wrongReads.length} lookups did not end as found (first: ${wrongReads[0]?.outcome})`);
  if (otherWrites.length > 0) failures.push(`${otherWrites.length} writes ended neither unlocked nor WRITE_RATE_LIMITED (first: ${otherWrites[0]?.outcome} ${otherWrites[0]?.code ?? ''})`);
  const sentWrites = emulator.requests.filter((r) => r.method === 'POST' && r.route !== 'token' && r.status !== undefined && r.status < 300).length;
  const writePhaseMs = lastWriteEnded - started;
  if (writePhaseMs < 60_000) {
    const expected = Math.min(writes, ceiling);
    if (unlocked !== expected) failures.push(`write ceiling not exact: ${unlocked} unlocked, expected ${expected}`);
    if (sentWrites !== expected) failures.push(`PingOne accepted ${sentWrites} writes, expected ${expected}`);
  } else {
    failures.push(`the writes took ${Math.round(writePhaseMs / 1000)} s, longer than the ceiling's minute: the exact-ceiling check needs them within one minute`);
  }
  const records = readFileSync(auditPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as AuditRecord);
  const outcomes = records.filter((r) => r.phase === 'outcome');
  const perCall = new Map<string, number>();
  for (const record of outcomes) perCall.set(record.auditId, (perCall.get(record.auditId) ?? 0) + 1);
  const everyCallOnce = results.every((r) => r.auditId !== undefined && perCall.get(r.auditId) === 1) && outcomes.length === calls;
  if (!everyCallOnce) failures.push(`audit: ${outcomes.length} outcome records for ${calls} calls, not one per call`);
  const verified = await verifyAuditFile(auditPath);
  if (!verified.ok) failures.push('audit trail does not verify');
  if (exitCode !== 0) failures.push(`server exit code ${exitCode}`);
  const rateLimited = emulator.requests.filter((r) => r.status === 429).length;
  await emulator.close();

  const sorted = [...latencies].sort((a, b) => a - b);
  process.stdout.write(
    [
      `write ceiling used: ${ceiling} per minute (server-wide); ${unlocked} unlocked, ${limited} denied WRITE_RATE_LIMITED of ${writes} writes sent within ${(writePhaseMs / 1000).toFixed(1)} s`,
      `latency per call: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`,
      `throughput: ${((calls / elapsedMs) * 1000).toFixed(0)} calls/s over ${(elapsedMs / 1000).toFixed(1)} s; PingOne answered 429 ${rateLimited} times`,
      `CPU: server ${serverCpu.toFixed(1)} s, this load generator ${((clientCpu.user + clientCpu.system) / 1e6).toFixed(1)} s (2 shared cores)`,
      `audit: ${outcomes.length} outcome records, ${records.length - outcomes.length} intents, one outcome per call: ${everyCallOnce ? 'yes' : 'NO'}; chain verifies: ${verified.ok ? 'yes' : 'NO'}`,
      'per-operator limits: not checked — this build has no verified operators over HTTP (OAuth verifier) nor a per-operator write limit',
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
