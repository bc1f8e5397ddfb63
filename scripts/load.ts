/**
 * Load test: N tool calls over ONE stdio connection to the built server
 * (dist/index.js, tenant mode), C in flight, against an emulator started here
 * with latency and a per-second rate limit (429 + Retry-After).
 *
 *   npm run build && npm run load -- --calls 1000 --concurrency 50
 *
 * Options: --calls N (1000) --concurrency C (50) --rate-limit R per second (50)
 * --latency MS (20) --token-lifetime S (3600). Exits 1 when any check fails.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { AuditRecord } from '../src/audit/record.js';
import { verifyAuditFile } from '../src/audit/verify.js';
import type { Device, User } from '../src/pingone/model.js';
import { environmentFor } from '../src/sandbox/connect.js';
import type { Emulator } from '../src/sandbox/emulator.js';
import { DEMO_USERS } from '../src/sandbox/seed.js';
// Latency and the rate limit are test machinery: they plug into the emulator through its intercept seam.
import { startTestEmulator } from '../test/support/emulator.js';

const BIN = resolve(import.meta.dirname, '../dist/index.js');

export interface LoadOptions {
  calls: number;
  concurrency: number;
  rateLimitPerSecond: number;
  latencyMs: number;
  tokenLifetimeSeconds: number;
  /** Progress lines; silent when absent. */
  log?: (line: string) => void;
}

type Kind = 'unlock' | 'unblock' | 'read';
const EXPECTED: Record<Kind, string> = { unlock: 'unlocked', unblock: 'unblocked', read: 'not_locked' };

export interface LoadReport {
  calls: number;
  /** How many calls of each kind were sent (the mix is the script's; tests check the trail against it). */
  sent: Record<Kind, number>;
  /** Writes PingOne (the emulator) answered with a 2xx: one per unlock or unblock call. */
  pingoneWrites: number;
  /** The audit file the server wrote, for checks independent of this script's reading of it. */
  auditPath: string;
  wrong: Array<{ call: number; kind: Kind; got: string }>;
  elapsedMs: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** 429 answers the emulator sent (each one a retry, or a failure after the last attempt). */
  rateLimited: number;
  httpRequests: number;
  /** Token requests answered with a token, and all token requests (429s included). */
  tokenGrants: number;
  tokenRequests: number;
  /** The most token grants the run's length allows: one per token lifetime (minus the early-refresh margin). */
  tokenGrantsAllowed: number;
  /** Shortest gap between two token grants, ms (Infinity for one grant). */
  tokenGrantGapMs: number;
  rss: { startKiB: number; endKiB: number; peakKiB: number; hwmKiB: number; samples: number };
  serverExitCode: number | null;
  unhandledRejections: number;
  audit: { ok: boolean; records: number; outcomes: number; intents: number; everyCallOnce: boolean };
  failures: string[];
}

interface LoadUser {
  id: string;
  username: string;
  email: string;
  deviceId: string;
}

/** Copies of a demo user (and her SMS device) under fresh IDs, so no two calls in flight share a user. */
function seedUsers(emulator: Emulator, count: number): LoadUser[] {
  const template = emulator.getUser(DEMO_USERS.bsmith.id) as User;
  const templateDevice = (emulator.listDevices(DEMO_USERS.bsmith.id) ?? [])[0] as Device;
  return Array.from({ length: count }, (_, i) => {
    const name = `load-${String(i).padStart(4, '0')}`;
    const user: LoadUser = { id: randomUUID(), username: name, email: `${name}@example.com`, deviceId: randomUUID() };
    emulator.putUser({ ...structuredClone(template), id: user.id, username: user.username, email: user.email, name: { given: 'Load', family: name } });
    emulator.putDevice(user.id, { ...structuredClone(templateDevice), id: user.deviceId, user: { id: user.id } } as Device);
    return user;
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** VmRSS and VmHWM of a process, in KiB (Linux). */
function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(/^\s*(\d+)/.exec(status.split(`${name}:`)[1] ?? '')?.[1] ?? NaN);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return undefined;
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const log = options.log ?? (() => {});
  let unhandledRejections = 0;
  const onRejection = () => void unhandledRejections++;
  process.on('unhandledRejection', onRejection);

  const emulator = await startTestEmulator({
    latencyMs: options.latencyMs,
    rateLimitPerSecond: options.rateLimitPerSecond,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds,
  });
  const users = seedUsers(emulator, options.concurrency + 10);
  const auditPath = join(mkdtempSync(join(tmpdir(), 'p1mcp-load-')), 'audit.jsonl');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: mkdtempSync(join(tmpdir(), 'p1mcp-load-home-')),
      ...environmentFor(emulator),
      PINGONE_MCP_AUDIT_LOG: auditPath,
      PINGONE_MCP_LOG_LEVEL: 'warn',
      // The per-process write guard would (rightly) stop a bulk run; this one is deliberate.
      PINGONE_MCP_MAX_WRITES_PER_MINUTE: '999999',
    },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let serverExitCode: number | null = null;
  const client = new Client({ name: 'load', version: '1.0.0' });
  try {
    await client.connect(transport);
  } catch (error) {
    await emulator.close();
    throw new Error(`the server did not start: ${(error as Error).message}; stderr: ${stderr.slice(-500)}`);
  }
  const pid = transport.pid ?? -1;

  const samples: number[] = [];
  let hwm = 0;
  const sample = () => {
    const memory = memoryOf(pid);
    if (memory === undefined) return;
    samples.push(memory.rss);
    hwm = Math.max(hwm, memory.hwm);
  };
  sample();
  const sampler = setInterval(sample, 100);

  const free = [...users];
  const sent: Record<Kind, number> = { unlock: 0, unblock: 0, read: 0 };
  const latencies: number[] = [];
  const wrong: LoadReport['wrong'] = [];
  const auditIds: string[] = [];
  let next = 0;
  let done = 0;
  const started = performance.now();

  const one = async (index: number, user: LoadUser): Promise<void> => {
    const kind: Kind = index % 10 < 4 ? 'unlock' : index % 10 < 7 ? 'unblock' : 'read';
    sent[kind] += 1;
    const stored = emulator.getUser(user.id) as User;
    if (kind === 'unblock') {
      const device = emulator.getDevice(user.id, user.deviceId) as Device;
      emulator.putDevice(user.id, { ...device, block: { status: 'BLOCKED' } });
    } else {
      const account = kind === 'unlock' ? { status: 'LOCKED', canAuthenticate: false, lockedAt: new Date().toISOString() } : { status: 'OK', canAuthenticate: true };
      emulator.putUser({ ...stored, account });
    }
    const request =
      kind === 'unlock'
        ? { name: 'unlock_user', arguments: { user: user.username, reason: `LOAD-${index}` } }
        : kind === 'unblock'
          ? { name: 'unblock_device', arguments: { user: user.id, deviceId: user.deviceId, reason: `LOAD-${index}` } }
          : { name: 'unlock_user', arguments: { user: user.email } };
    const t0 = performance.now();
    let got: string;
    try {
      const result = await client.callTool(request, { timeout: 120_000 });
      const structured = result.structuredContent as { outcome?: string; auditId?: string; error?: { code?: string } } | undefined;
      got = structured?.outcome === 'failed' ? `failed ${structured.error?.code ?? ''}` : (structured?.outcome ?? 'no outcome');
      if (structured?.auditId) auditIds.push(structured.auditId);
    } catch (error) {
      got = `protocol error: ${(error as Error).message}`;
    }
    latencies.push(performance.now() - t0);
    const applied =
      kind === 'unlock'
        ? emulator.getUser(user.id)?.account?.status === 'OK'
        : kind === 'unblock'
          ? emulator.getDevice(user.id, user.deviceId)?.block?.status === 'UNBLOCKED'
          : emulator.getUser(user.id)?.account?.status === 'OK';
    if (got !== EXPECTED[kind] || !applied) wrong.push({ call: index, kind, got: applied ? got : `${got} (PingOne state not as expected)` });
    done++;
    if (done % Math.max(1, Math.floor(options.calls / 10)) === 0) log(`  ${done}/${options.calls} calls, ${Math.round(performance.now() - started)} ms`);
  };

  const worker = async (): Promise<void> => {
    while (next < options.calls) {
      const index = next++;
      const user = free.pop();
      if (user === undefined) throw new Error('user pool exhausted');
      try {
        await one(index, user);
      } finally {
        free.push(user);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedMs = performance.now() - started;
  clearInterval(sampler);
  sample();

  // Closing stdin asks the server to drain and exit; its exit code says whether anything crashed it.
  const exited = new Promise<number | null>((resolveExit) => {
    const child = (transport as unknown as { _process?: { once(event: 'exit', cb: (code: number | null) => void): void; exitCode: number | null } })._process;
    if (child === undefined || child.exitCode !== null) resolveExit(child?.exitCode ?? null);
    else child.once('exit', (code) => resolveExit(code));
  });
  await client.close();
  serverExitCode = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
  process.off('unhandledRejection', onRejection);

  const requests = emulator.requests;
  const tokenRequests = requests.filter((r) => r.route === 'token');
  const grants = tokenRequests.filter((r) => r.status === 200).map((r) => r.receivedAt);
  const lifetimeMs = options.tokenLifetimeSeconds * 1000;
  const refreshMs = lifetimeMs - Math.min(60_000, lifetimeMs / 10);
  const gaps = grants.slice(1).map((at, i) => at - (grants[i] ?? at));
  const tokenGrantsAllowed = Math.floor(elapsedMs / refreshMs) + 1;

  const verified = await verifyAuditFile(auditPath);
  const records = readFileSync(auditPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditRecord);
  const outcomes = records.filter((r) => r.phase === 'outcome');
  const outcomeCount = new Map<string, number>();
  for (const record of outcomes) outcomeCount.set(record.auditId, (outcomeCount.get(record.auditId) ?? 0) + 1);
  const everyCallOnce = auditIds.length === options.calls && auditIds.every((id) => outcomeCount.get(id) === 1) && outcomes.length === options.calls;

  const sorted = [...latencies].sort((a, b) => a - b);
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const report: LoadReport = {
    calls: options.calls,
    sent,
    pingoneWrites: requests.filter((r) => (r.route === 'user.action' || r.route === 'device.action') && r.status !== undefined && r.status >= 200 && r.status < 300).length,
    auditPath,
    wrong,
    elapsedMs,
    callsPerSecond: options.calls / (elapsedMs / 1000),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? 0,
    rateLimited: requests.filter((r) => r.status === 429).length,
    httpRequests: requests.length,
    tokenGrants: grants.length,
    tokenRequests: tokenRequests.length,
    tokenGrantsAllowed,
    tokenGrantGapMs: gaps.length === 0 ? Infinity : Math.min(...gaps),
    rss: { startKiB: median(samples.slice(0, quarter)), endKiB: median(samples.slice(-quarter)), peakKiB: Math.max(0, ...samples), hwmKiB: hwm, samples: samples.length },
    serverExitCode,
    unhandledRejections,
    audit: { ok: verified.ok, records: records.length, outcomes: outcomes.length, intents: records.filter((r) => r.phase === 'intent').length, everyCallOnce },
    failures: [],
  };
  if (wrong.length > 0) report.failures.push(`${wrong.length} calls ended with the wrong outcome, e.g. ${JSON.stringify(wrong.slice(0, 3))}`);
  if (report.tokenGrants < 1 || report.tokenGrants > tokenGrantsAllowed) report.failures.push(`${report.tokenGrants} token grants; at most ${tokenGrantsAllowed} expected`);
  if (report.tokenGrants > 1 && report.tokenGrantGapMs < refreshMs - 1_000) report.failures.push(`two token grants only ${report.tokenGrantGapMs} ms apart`);
  if (serverExitCode !== 0) report.failures.push(`server exit code ${String(serverExitCode)}; stderr: ${stderr.slice(-500)}`);
  if (unhandledRejections > 0) report.failures.push(`${unhandledRejections} unhandled rejections in the load driver`);
  if (!verified.ok || !everyCallOnce) report.failures.push(`audit: ${JSON.stringify(report.audit)}`);
  await emulator.close();
  return report;
}

export function formatReport(options: LoadOptions, r: LoadReport): string {
  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  return [
    `load: ${r.calls} calls, ${options.concurrency} in flight, one stdio connection; emulator latency ${options.latencyMs} ms, limit ${options.rateLimitPerSecond} req/s, token lifetime ${options.tokenLifetimeSeconds} s`,
    `  outcomes:   ${r.calls - r.wrong.length}/${r.calls} as expected`,
    `  throughput: ${r.callsPerSecond.toFixed(1)} calls/s over ${(r.elapsedMs / 1000).toFixed(1)} s`,
    `  latency:    p50 ${r.p50Ms.toFixed(0)} ms, p99 ${r.p99Ms.toFixed(0)} ms, max ${r.maxMs.toFixed(0)} ms`,
    `  retries:    ${r.rateLimited} answers were 429 (of ${r.httpRequests} HTTP requests)`,
    `  tokens:     ${r.tokenGrants} granted (${r.tokenRequests} token requests), at most ${r.tokenGrantsAllowed} allowed for the run's length`,
    `  server RSS: ${mib(r.rss.startKiB)} early, ${mib(r.rss.endKiB)} late (medians), peak ${mib(r.rss.peakKiB)}, VmHWM ${mib(r.rss.hwmKiB)}; ${r.rss.samples} samples`,
    `  audit:      chain ${r.audit.ok ? 'verifies' : 'BROKEN'}, ${r.audit.records} records (${r.audit.intents} intents, ${r.audit.outcomes} outcomes), one outcome per call: ${r.audit.everyCallOnce ? 'yes' : 'NO'}`,
    `  server exit code ${String(r.serverExitCode)}, unhandled rejections ${r.unhandledRejections}`,
    r.failures.length === 0 ? 'PASS' : `FAIL\n  - ${r.failures.join('\n  - ')}`,
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '50' },
      'rate-limit': { type: 'string', default: '50' },
      latency: { type: 'string', default: '20' },
      'token-lifetime': { type: 'string', default: '3600' },
    },
  });
  const number = (name: string, text: string, min: number): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number >= ${min}`);
    return value;
  };
  const options: LoadOptions = {
    calls: number('calls', values.calls, 1),
    concurrency: number('concurrency', values.concurrency, 1),
    rateLimitPerSecond: number('rate-limit', values['rate-limit'], 1),
    latencyMs: number('latency', values.latency, 0),
    tokenLifetimeSeconds: number('token-lifetime', values['token-lifetime'], 10),
    log: (line) => process.stderr.write(`${line}\n`),
  };
  const report = await runLoad(options);
  process.stdout.write(`${formatReport(options, report)}\n`);
  return report.failures.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`load: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
