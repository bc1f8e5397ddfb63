// The start-up and overhead benchmark: `npm run bench` (builds first). Prints figures
// side by side and checks them against the goals; it asserts nothing and always exits 0
// unless something is broken. Options: --quick (fewer runs, for trying changes),
// --runs N (cold starts, default 20), --samples N (timed calls per path, default 2000),
// --calls N (calls before the last RSS sample, default 10000).
//
// What is compared with what:
//   cold start   spawn → initialize answer, and spawn → first tools/list answer, of the built
//                binary in tenant mode (pointed at the emulator below), next to spawn → exit of
//                `node -e ''` and of a minimal SDK v2 server bundled the same way (the floor any
//                server on this SDK pays), interleaved, same clean environment (a desktop client
//                spawns servers with few variables; an inherited NODE_EXTRA_CA_CERTS alone adds
//                ~40 ms to every Node start here).
//   per call     unlock_user over MCP stdio vs the same PingOne requests sent directly with
//                undici, against one emulator on loopback. Two paths: the write path (user
//                locked: 1 search + 1 unlock POST, two fsync'd audit records; the user is
//                re-locked with the emulator's putUser between calls, outside the timing) and
//                the not_locked read path (1 search, one fsync'd audit record).
//   memory       VmRSS of the server from /proc, idle and every 1,000 calls.
//   install      the packed tarball installed offline into an empty folder.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from 'esbuild';
import type { User } from '../src/pingone/model.js';
import { startEmulator, type Emulator } from '../src/sandbox/emulator.js';
import { environmentFor } from '../src/sandbox/connect.js';
import { DEMO_USERS } from '../src/sandbox/seed.js';
import { DirectPingOne } from './bench/direct.js';
import { StdioRpc } from './bench/rpc.js';
import { kib, median, memoryOf, mib, ms, percentile, slope } from './bench/stats.js';

const ROOT = resolve(import.meta.dirname, '..');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
function option(name: string, fallback: number): number {
  const at = args.indexOf(name);
  const value = at >= 0 ? Number(args[at + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    process.stderr.write(`bench: ${name} takes a positive whole number\n`);
    process.exit(2);
  }
  return value;
}
const RUNS = option('--runs', quick ? 10 : 20);
const SAMPLES = option('--samples', quick ? 300 : 2000);
const CALLS = option('--calls', quick ? 2000 : 10_000);
const WARMUP = Math.min(300, SAMPLES);

if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
  process.stderr.write('bench: dist/index.js is missing; run `npm run bench` (it builds first)\n');
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'p1mcp-bench-'));
mkdirSync(join(work, 'home'));
// A private copy of the build: a rebuild of dist/ during the run cannot pull chunks from under it.
cpSync(join(ROOT, 'dist'), join(work, 'dist'), { recursive: true });
const BIN = join(work, 'dist', 'index.js');
const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const row = (label: string, ...cells: string[]): void => out(`  ${label.padEnd(34)}${cells.map((c) => c.padStart(12)).join('')}`);

/** The server's ceiling on calls in flight during the benchmark (PINGONE_MCP_MAX_CONCURRENT_CALLS). */
const BENCH_CONCURRENT_CALLS = 16;

/** The environment a desktop client would give the server: its config and little else. */
function cleanEnv(emulator: Emulator, auditLog: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: join(work, 'home'),
    ...environmentFor(emulator),
    PINGONE_MCP_AUDIT_LOG: auditLog,
    // Benchmarks write thousands of times a minute: lift the guard's write budget and prompts.
    PINGONE_MCP_MAX_WRITES_PER_MINUTE: '999999',
    PINGONE_MCP_CONFIRM: 'never',
    // Calls go one at a time here; the ceiling is set (and printed) so the figures say what they measured.
    PINGONE_MCP_MAX_CONCURRENT_CALLS: String(BENCH_CONCURRENT_CALLS),
    ...extra,
  };
}

function fileSystemOf(dir: string): string {
  const names: Record<number, string> = { 0xef53: 'ext4', 0x01021994: 'tmpfs', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs' };
  try {
    const type = statfsSync(dir).type;
    return names[type] ?? `0x${type.toString(16)}`;
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------- cold start

/** A minimal server on the same SDK (one zod tool), bundled like ours: the floor for any SDK v2 server. */
async function buildSdkFloor(): Promise<string> {
  const outfile = join(work, 'sdk-floor.mjs');
  await build({
    stdin: {
      resolveDir: ROOT,
      loader: 'ts',
      contents: `import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';
serveStdio(() => {
  const server = new McpServer({ name: 'floor', version: '1.0.0' });
  server.registerTool('echo', { description: 'Echoes.', inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
  return server;
});`,
    },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minifySyntax: true,
    minifyWhitespace: true,
    outfile,
    logLevel: 'error',
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  return outfile;
}

function bareNode(env: Record<string, string>): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['-e', ''], { env, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolvePromise(performance.now() - start));
  });
}

async function serverStart(script: string, env: Record<string, string>, listTools: boolean): Promise<{ initialize: number; toolsList: number }> {
  const rpc = new StdioRpc(process.execPath, [script], env);
  try {
    await rpc.initialize();
    const initialize = performance.now() - rpc.spawnedAt;
    let toolsList = Number.NaN;
    if (listTools) {
      const answer = await rpc.request('tools/list', {});
      if (answer.error || !Array.isArray(answer.result?.tools)) throw new Error('tools/list failed');
      toolsList = performance.now() - rpc.spawnedAt;
    }
    return { initialize, toolsList };
  } finally {
    rpc.child.kill('SIGKILL');
    await new Promise((r) => (rpc.child.exitCode !== null || rpc.child.signalCode !== null ? r(null) : rpc.child.once('exit', r)));
  }
}

async function coldStart(emulator: Emulator, floorScript: string): Promise<{ bare: number; floor: number; init: number; list: number }> {
  const bare: number[] = [];
  const floor: number[] = [];
  const init: number[] = [];
  const list: number[] = [];
  // One unmeasured round warms the disk cache for all three, then they alternate.
  for (let run = -1; run < RUNS; run++) {
    const env = cleanEnv(emulator, join(work, `cold-${run + 1}.jsonl`));
    const b = await bareNode(env);
    const f = await serverStart(floorScript, env, false);
    const s = await serverStart(BIN, env, true);
    if (run < 0) continue;
    bare.push(b);
    floor.push(f.initialize);
    init.push(s.initialize);
    list.push(s.toolsList);
  }
  const result = { bare: median(bare), floor: median(floor), init: median(init), list: median(list) };
  out(`cold start (median of ${RUNS} spawns each, interleaved; clean env)`);
  row('', 'median ms', 'p90 ms', 'x bare node');
  row("node -e ''  (spawn → exit)", ms(result.bare), ms(percentile(bare, 90)), '1.00');
  row('minimal SDK v2 server → initialize', ms(result.floor), ms(percentile(floor, 90)), (result.floor / result.bare).toFixed(2));
  row('this server → initialize', ms(result.init), ms(percentile(init, 90)), (result.init / result.bare).toFixed(2));
  row('this server → first tools/list', ms(result.list), ms(percentile(list, 90)), (result.list / result.bare).toFixed(2));
  out();
  return result;
}

/** VmRSS one second after start-up (after initialize when it is an MCP server), for reference. */
async function idleRss(args: string[], env: Record<string, string>, mcp: boolean): Promise<number> {
  const rpc = new StdioRpc(process.execPath, args, env);
  try {
    if (mcp) {
      await rpc.initialize();
      await rpc.request('tools/list', {});
    }
    await sleep(1000);
    return memoryOf(rpc.pid, (path) => readFileSync(path, 'utf8'))?.rss ?? Number.NaN;
  } finally {
    rpc.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- per call

interface CallFigures {
  direct: number[];
  mcp: number[];
}

function added(figures: CallFigures): { median: number; p99: number } {
  return {
    median: median(figures.mcp) - median(figures.direct),
    p99: percentile(figures.mcp, 99) - percentile(figures.direct, 99),
  };
}

class OverheadRun {
  readonly rpc: StdioRpc;
  private readonly locked: User;
  mcpCalls = 0;
  readonly memory: Array<{ calls: number; rss: number; peak: number }> = [];

  readonly heap: Array<{ calls: number; live: number }> = [];
  private readonly heapFile: string | undefined;

  constructor(
    readonly emulator: Emulator,
    readonly direct: DirectPingOne,
    auditLog: string,
    locked: User,
    options: { heapProbe?: boolean } = {},
  ) {
    this.locked = locked;
    this.heapFile = options.heapProbe ? `${auditLog}.heap` : undefined;
    const probe = ['--expose-gc', `--import=${join(import.meta.dirname, 'bench', 'heap-probe.mjs')}`];
    this.rpc = new StdioRpc(
      process.execPath,
      [...(this.heapFile ? probe : []), BIN],
      cleanEnv(emulator, auditLog, this.heapFile ? { BENCH_HEAP_FILE: this.heapFile } : {}),
    );
  }

  /** Live heap after a full GC in the server (only with the heap probe). */
  async sampleHeap(): Promise<void> {
    if (this.heapFile === undefined) return;
    const before = existsSync(this.heapFile) ? readFileSync(this.heapFile, 'utf8').split('\n').length : 0;
    this.rpc.child.kill('SIGUSR2');
    for (let waited = 0; waited < 5000; waited += 10) {
      await sleep(10);
      const lines = existsSync(this.heapFile) ? readFileSync(this.heapFile, 'utf8').split('\n') : [];
      if (lines.length > before) {
        this.heap.push({ calls: this.mcpCalls, live: Number(lines.at(-2)) });
        return;
      }
    }
  }

  relock(): void {
    this.emulator.putUser(this.locked);
  }

  sampleMemory(): void {
    const memory = memoryOf(this.rpc.pid, (path) => readFileSync(path, 'utf8'));
    if (memory) this.memory.push({ calls: this.mcpCalls, ...memory });
  }

  async mcp(user: string, expected: 'unlocked' | 'not_locked'): Promise<number> {
    const answer = await this.rpc.request('tools/call', { name: 'unlock_user', arguments: { user, reason: 'BENCH-1' } });
    this.mcpCalls++;
    const outcome = (answer.result?.structuredContent as { outcome?: string } | undefined)?.outcome;
    if (outcome !== expected) {
      throw new Error(`bench: unlock_user ${user} answered ${outcome ?? JSON.stringify(answer.error ?? answer.result)} (expected ${expected})`);
    }
    if (this.mcpCalls % 1000 === 0) {
      this.sampleMemory();
      await this.sampleHeap();
    }
    return answer.elapsedMs;
  }

  async directWrite(): Promise<number> {
    const start = performance.now();
    const user = await this.direct.findUser('jdoe');
    if (user.status !== 'LOCKED') throw new Error('bench: jdoe was not re-locked');
    await this.direct.unlock(user.id);
    return performance.now() - start;
  }

  async directRead(): Promise<number> {
    const start = performance.now();
    const user = await this.direct.findUser('bsmith');
    if (user.status === 'LOCKED') throw new Error('bench: bsmith is locked');
    return performance.now() - start;
  }

  /** Alternates which side goes first, so that neither always follows the other's cache effects. */
  async pairs(count: number, path: 'write' | 'read', into?: CallFigures): Promise<void> {
    for (let i = 0; i < count; i++) {
      const runDirect = async () => {
        if (path === 'write') this.relock();
        const t = path === 'write' ? await this.directWrite() : await this.directRead();
        into?.direct.push(t);
      };
      const runMcp = async () => {
        if (path === 'write') this.relock();
        const t = await this.mcp(path === 'write' ? 'jdoe' : 'bsmith', path === 'write' ? 'unlocked' : 'not_locked');
        into?.mcp.push(t);
      };
      if (i % 2 === 0) {
        await runDirect();
        await runMcp();
      } else {
        await runMcp();
        await runDirect();
      }
    }
  }

  /** PingOne requests the server sent (by user agent) per route, while running `body`. */
  async countRequests(body: () => Promise<void>): Promise<Map<string, number>> {
    const from = this.emulator.requests.length;
    await body();
    const counts = new Map<string, number>();
    for (const req of this.emulator.requests.slice(from)) {
      if (!req.headers['user-agent']?.startsWith('pingone-helpdesk-mcp/')) continue;
      const key = `${req.method} ${req.route}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }
}

function perCall(counts: Map<string, number>, calls: number): string {
  return [...counts].map(([key, n]) => `${(n / calls).toFixed(2)} × ${key}`).join(' + ') || 'none';
}

async function overhead(emulator: Emulator): Promise<{ write: CallFigures; read: CallFigures; shmWrite?: CallFigures; shmRead?: CallFigures; run: OverheadRun; idleRss: number }> {
  // Captured before any call unlocks her: putUser puts this copy back before each write.
  const locked = emulator.getUser(DEMO_USERS.jdoe.id);
  if (locked?.account?.status !== 'LOCKED') throw new Error('bench: the demo seed no longer has jdoe locked');
  const direct = new DirectPingOne(emulator);
  await direct.fetchToken();
  const auditDir = join(work, 'audit');
  mkdirSync(auditDir);
  const run = new OverheadRun(emulator, direct, join(auditDir, 'audit.jsonl'), locked, { heapProbe: true });
  await run.rpc.initialize();
  await run.rpc.request('tools/list', {});
  await sleep(1000);
  run.sampleMemory();
  const idleRss = run.memory[0]?.rss ?? Number.NaN;
  await run.sampleHeap();

  // Requests per tool call: one call of each path, counted exactly.
  const writeCounts = await run.countRequests(async () => {
    run.relock();
    await run.mcp('jdoe', 'unlocked');
  });
  const readCounts = await run.countRequests(async () => {
    await run.mcp('bsmith', 'not_locked');
  });

  await run.pairs(WARMUP, 'write');
  await run.pairs(WARMUP, 'read');
  const write: CallFigures = { direct: [], mcp: [] };
  const read: CallFigures = { direct: [], mcp: [] };
  const steadyWrite = await run.countRequests(() => run.pairs(SAMPLES, 'write', write));
  const steadyRead = await run.countRequests(() => run.pairs(SAMPLES, 'read', read));
  while (run.mcpCalls < CALLS) {
    run.relock();
    await run.mcp('jdoe', 'unlocked');
  }

  const tokenRequests = (agent: (ua: string) => boolean) =>
    emulator.requests.filter((r) => r.route === 'token' && agent(r.headers['user-agent'] ?? '')).length;
  const serverTokens = tokenRequests((ua) => ua.startsWith('pingone-helpdesk-mcp/'));
  const directTokens = tokenRequests((ua) => ua === 'bench-direct');
  await run.rpc.close();

  // The same, with the audit trail on tmpfs, where fdatasync returns at once: what the
  // server adds apart from making its audit records durable.
  let shmWrite: CallFigures | undefined;
  let shmRead: CallFigures | undefined;
  if (existsSync('/dev/shm') && fileSystemOf('/dev/shm') === 'tmpfs') {
    const shmDir = mkdtempSync('/dev/shm/p1mcp-bench-');
    try {
      const shm = new OverheadRun(emulator, direct, join(shmDir, 'audit.jsonl'), locked);
      await shm.rpc.initialize();
      await shm.pairs(WARMUP, 'write');
      await shm.pairs(WARMUP, 'read');
      shmWrite = { direct: [], mcp: [] };
      shmRead = { direct: [], mcp: [] };
      await shm.pairs(Math.ceil(SAMPLES / 2), 'write', shmWrite);
      await shm.pairs(Math.ceil(SAMPLES / 2), 'read', shmRead);
      await shm.rpc.close();
    } finally {
      rmSync(shmDir, { recursive: true, force: true });
    }
  }
  await direct.close();

  const fsync = fdatasyncCost(auditDir);
  out(`per call: unlock_user over MCP stdio vs the same requests sent directly (undici), ${SAMPLES} pairs per path, one call at a time (PINGONE_MCP_MAX_CONCURRENT_CALLS=${BENCH_CONCURRENT_CALLS})`);
  out(`  audit trail on ${fileSystemOf(auditDir)} (${auditDir}); one 700-byte append + fdatasync there: median ${ms(fsync)} ms`);
  row('', 'direct p50', 'MCP p50', 'added p50', 'added p99');
  const show = (label: string, figures: CallFigures) => {
    const a = added(figures);
    row(label, ms(median(figures.direct)), ms(median(figures.mcp)), ms(a.median), ms(a.p99));
  };
  show('write path (locked → unlocked)', write);
  show('read path (not_locked)', read);
  if (shmWrite && shmRead) {
    show('write path, audit on tmpfs', shmWrite);
    show('read path, audit on tmpfs', shmRead);
  }
  out(`  PingOne requests per tool call (server's, counted at the emulator):`);
  out(`    unlocked:   ${perCall(writeCounts, 1)}   (over ${SAMPLES} timed calls: ${perCall(steadyWrite, SAMPLES)})`);
  out(`    not_locked: ${perCall(readCounts, 1)}   (over ${SAMPLES} timed calls: ${perCall(steadyRead, SAMPLES)})`);
  out(`  token requests in the whole run: server ${serverTokens} for ${run.mcpCalls} tool calls; direct client ${directTokens}`);
  out();
  return { write, read, ...(shmWrite ? { shmWrite } : {}), ...(shmRead ? { shmRead } : {}), run, idleRss };
}

/** Median cost of one durable audit-sized append in `dir`, measured here for comparison. */
function fdatasyncCost(dir: string): number {
  const file = join(dir, 'fsync-probe.jsonl');
  const fd = openSync(file, 'a');
  const line = `${JSON.stringify({ pad: 'x'.repeat(680) })}\n`;
  const samples: number[] = [];
  try {
    for (let i = 0; i < 300; i++) {
      const start = performance.now();
      writeSync(fd, line);
      fdatasyncSync(fd);
      samples.push(performance.now() - start);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return median(samples);
}

// ---------------------------------------------------------------- install

function diskUsage(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    bytes += statSync(join(entry.parentPath, entry.name)).size;
    files++;
  }
  return { bytes, files };
}

function install(): { tarball: number; entries: number; installed: number; files: number; dependencies: number } {
  const packDir = join(work, 'pack');
  mkdirSync(packDir);
  // The bench has just built dist/: --ignore-scripts skips prepack's second build.
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
  ) as Array<{ filename: string; size: number; entryCount: number }>;
  const tarball = packed[0]!;
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "name": "bench-install", "private": true }\n');
  const result = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', join(packDir, tarball.filename)], { cwd: app, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`offline install failed:\n${result.stderr}`);
  const lock = JSON.parse(readFileSync(join(app, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
  const packages = Object.keys(lock.packages).filter((key) => key.startsWith('node_modules/'));
  const usage = diskUsage(join(app, 'node_modules'));
  const figures = { tarball: tarball.size, entries: tarball.entryCount, installed: usage.bytes, files: usage.files, dependencies: packages.length - 1 };
  out('install (npm pack, then npm install --offline of the tarball into an empty folder)');
  out(`  tarball ${kib(figures.tarball)} KiB, ${figures.entries} files; installed ${kib(figures.installed)} KiB in ${figures.files} files; ${figures.dependencies} dependencies`);
  out();
  return figures;
}

// ---------------------------------------------------------------- main

const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
out(`pingone-helpdesk-mcp bench: node ${process.version}, ${cpus().length} × ${cpu}${quick ? ' (--quick)' : ''}`);
out();
const emulator = await startEmulator();
try {
  const floorScript = await buildSdkFloor();
  const cold = await coldStart(emulator, floorScript);
  const calls = await overhead(emulator);
  const { run } = calls;
  const referenceEnv = cleanEnv(emulator, join(work, 'reference.jsonl'));
  const bareRss = await idleRss(['-e', 'setTimeout(() => {}, 5000)'], referenceEnv, false);
  const floorRss = await idleRss([floorScript], referenceEnv, true);
  out(`memory (VmRSS of the server process)`);
  out(`  for reference, 1 s after start: node -e '' ${mib(bareRss)} MiB; minimal SDK v2 server ${mib(floorRss)} MiB`);
  out(`  idle after start-up ${mib(calls.idleRss)} MiB; by tool calls made: ${run.memory.slice(1).map((m) => `${m.calls}: ${mib(m.rss)}`).join(', ')} MiB`);
  const settled = run.memory.find((m) => m.calls >= 2000) ?? run.memory[1];
  const last = run.memory.at(-1)!;
  const growth = settled ? last.rss - settled.rss : Number.NaN;
  out(`  from ${settled?.calls} to ${last.calls} calls: ${growth >= 0 ? '+' : ''}${mib(growth)} MiB; peak ${mib(last.peak)} MiB`);
  // The live heap after a full GC (server started with --expose-gc and scripts/bench/heap-probe.mjs):
  // RSS also moves with how much heap V8 decides to keep, this does not.
  const warm = run.heap.filter((h) => h.calls >= 2000);
  const leakPerCall = slope(warm.map((h) => [h.calls, h.live]));
  out(`  live heap after a full GC: ${run.heap.map((h) => `${h.calls}: ${mib(h.live)}`).join(', ')} MiB`);
  out(`  trend from ${warm[0]?.calls} calls on (least squares): ${Number.isFinite(leakPerCall) ? `${leakPerCall >= 0 ? '+' : ''}${leakPerCall.toFixed(0)} bytes per call` : 'n/a'}`);
  out();
  const pkg = install();

  const writeAdded = added(calls.write);
  const readAdded = added(calls.read);
  const verdict = (ok: boolean) => (ok ? 'met    ' : 'NOT MET');
  out('goals');
  out(`  ${verdict(cold.init / cold.bare <= 1.5)}  cold start ≤ 1.5× bare node: initialize ${(cold.init / cold.bare).toFixed(2)}×, tools/list ${(cold.list / cold.bare).toFixed(2)}× (the SDK v2 floor alone is ${(cold.floor / cold.bare).toFixed(2)}×)`);
  out(`  ${verdict(readAdded.median <= 1)}  added latency ≤ 1 ms median, read path: ${ms(readAdded.median)} ms (1 fsync'd audit record)`);
  out(`  ${verdict(writeAdded.median <= 1)}  added latency ≤ 1 ms median, write path: ${ms(writeAdded.median)} ms (2 fsync'd audit records: the intent must be durable before the write)`);
  if (calls.shmWrite && calls.shmRead) {
    out(`           without the disk flush (audit on tmpfs): write ${ms(added(calls.shmWrite).median)} ms, read ${ms(added(calls.shmRead).median)} ms`);
  }
  out(`  ${verdict(calls.idleRss <= 60 * 1024 * 1024)}  RSS ≤ 60 MB idle: ${mib(calls.idleRss)} MiB`);
  const span = last.calls - (settled?.calls ?? last.calls);
  if (span < 5000) {
    out(`  n/a      no growth over 10,000 calls: only ${last.calls} calls made (--calls)`);
  } else {
    out(`  ${verdict(growth <= 3 * 1024 * 1024)}  no RSS growth over ${last.calls} calls (≤ +3 MiB from ${settled?.calls} calls on): ${growth >= 0 ? '+' : ''}${mib(growth)} MiB`);
    out(`  ${verdict(leakPerCall <= 16)}  no live-heap growth (trend ≤ 16 bytes per call, after a full GC): ${leakPerCall.toFixed(0)} bytes per call`);
  }
  out(`  info     install: ${kib(pkg.installed)} KiB, ${pkg.dependencies} dependencies`);
} finally {
  await emulator.close();
  rmSync(work, { recursive: true, force: true });
}
