import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentFor } from '../../src/sandbox/connect.js';
import { chunksHolding, TOOL_CODE_MARKER } from '../support/chunks.js';
import { startTestEmulator, type TestEmulator } from '../support/emulator.js';

/**
 * What the built binary loads on the way to its first tools/list answer, in
 * tenant mode as a desktop client starts it (a preloaded fixture records it),
 * and the log lines it still writes although pino loads only after start-up.
 * `npm test` builds dist/ first.
 */

const BIN = resolve(import.meta.dirname, '../../dist/index.js');
const FIXTURE = resolve(import.meta.dirname, 'fixtures/loaded-modules.mjs');
// The name of Ajv's 2020-12 class, which the SDK's validator builds its default engine with.
const AJV_MARKER = 'Ajv2020';

let emulator: TestEmulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

function serverEnv(work: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: work, ...environmentFor(emulator), PINGONE_MCP_AUDIT_LOG: join(work, 'audit.jsonl'), PINGONE_MCP_LOG_LEVEL: 'info', ...extra };
}

interface LogLine {
  level: number;
  time: number;
  pid: number;
  name: string;
  msg: string;
  [field: string]: unknown;
}

/** Every stderr line must be one of pino's JSON records. */
function logLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
}

interface Loaded {
  builtIns: string[];
  commonJs: string[];
  esModules: string[];
}

/** The bundle's chunk that holds the tool modules (the one that defines the catalog of tool modules). */
function toolCodeChunk(): string {
  const found = chunksHolding(resolve(BIN, '..'), TOOL_CODE_MARKER);
  expect(found).toHaveLength(1);
  return basename(found[0]!);
}

/** What was loaded at the first tools/list answer, and at exit after one tool call and the client closed (which logs a line). */
async function loadedAtFirstToolsList(): Promise<{ atFirstList: Loaded; atExit: Loaded }> {
  const work = mkdtempSync(join(tmpdir(), 'p1mcp-startup-'));
  const out = join(work, 'modules.json');
  const client = new Client({ name: 'start-up-e2e', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: ['--import', FIXTURE, BIN], env: serverEnv(work, { LOADED_MODULES_OUT: out }) }));
  try {
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    expect((await client.callTool({ name: 'find_user', arguments: { query: 'jdoe' } })).isError).toBeFalsy();
  } finally {
    await client.close();
  }
  for (let waited = 0; !existsSync(`${out}.at-exit`) && waited < 5_000; waited += 50) await sleep(50);
  return { atFirstList: JSON.parse(readFileSync(out, 'utf8')) as Loaded, atExit: JSON.parse(readFileSync(`${out}.at-exit`, 'utf8')) as Loaded };
}

/** Whether this Node loads worker_threads for `import 'node:util'` alone (22 and later do). */
function utilLoadsWorkerThreads(): boolean {
  const probe = spawnSync(process.execPath, ['--input-type=module', '-e', "import 'node:util'; process.stdout.write(String(process.moduleLoadList.includes('NativeModule worker_threads')))"], { encoding: 'utf8' });
  return probe.stdout === 'true';
}

describe('the built binary on its way to the first tools/list', () => {
  it("loads neither pino nor node:crypto nor node:assert, nor Ajv, nor anything for HTTP, nor the tools' code", async () => {
    const { atFirstList, atExit } = await loadedAtFirstToolsList();
    const { builtIns, commonJs, esModules } = atFirstList;
    // The tools are listed from the build's listing; their modules (and the runtime) load at the first call.
    const toolCode = toolCodeChunk();
    const dist = resolve(BIN, '..');
    expect(esModules.some((url) => url.endsWith('/dist/index.js'))).toBe(true);
    expect(esModules.filter((url) => url.endsWith(`/${toolCode}`))).toEqual([]);
    expect(atExit.esModules.filter((url) => url.endsWith(`/${toolCode}`))).toHaveLength(1);
    // The record is real: what the server did need is in it (the audit trail's file checks),
    // and pino is there by the time the server logged that it is shutting down.
    expect(builtIns).toContain('NativeModule fs/promises');
    expect(atExit.commonJs.filter((file) => file.endsWith('pino.cjs'))).toHaveLength(1);
    expect(atExit.builtIns).toContain('NativeModule worker_threads');
    // pino (dist/chunks/pino.cjs) and its built-ins load at the first line after the start-up line.
    expect(commonJs.filter((file) => file.includes('pino'))).toEqual([]);
    // From Node 22 on, node:util itself (parseArgs, promisify: the CLI and the audit trail need it) loads worker_threads.
    if (!utilLoadsWorkerThreads()) expect(builtIns).not.toContain('NativeModule worker_threads');
    // node:crypto loads at its first use (src/lazyCrypto.ts): audit hashes, audit ids, the confirmation key.
    expect(builtIns).not.toContain('NativeModule crypto');
    // The SDK's JSON Schema validator (Ajv, dist/chunks/ajv.cjs) loads at its first check (src/sdkShims.ts).
    expect(commonJs.filter((file) => file.endsWith('ajv.cjs'))).toEqual([]);
    expect(atExit.commonJs.filter((file) => file.endsWith('ajv.cjs'))).toEqual([]);
    // Nor is Ajv in a chunk of the bundle, where it would be evaluated with the SDK whatever loads ajv.cjs.
    expect(readFileSync(join(dist, 'chunks', 'ajv.cjs'), 'utf8')).toContain(AJV_MARKER);
    expect(chunksHolding(dist, AJV_MARKER)).toEqual([]);
    // pino's sonic-boom and thread-stream get a stand-in that loads node:assert at its one check (build.mjs).
    expect(builtIns).not.toContain('NativeModule assert');
    // undici (PingOne's transport) and the HTTP listener load on first use.
    expect(builtIns).not.toContain('NativeModule http');
    expect(builtIns).not.toContain('NativeModule tls');
  });
});

describe('the bundle', () => {
  it("carries zod's English messages only, not the other locales zod ships (our sources import zod as `* as z`)", () => {
    const dist = resolve(BIN, '..');
    // Markers of the German and French messages; the English ones are what every zod error says.
    expect(chunksHolding(dist, 'erwartet')).toEqual([]);
    expect(chunksHolding(dist, 'attendu')).toEqual([]);
    expect(chunksHolding(dist, 'expected')).not.toEqual([]);
  });
});

describe('the start-up line, held until pino loads', () => {
  it('is written first, with the time it was logged at, once a call has run and the client closes', async () => {
    const work = mkdtempSync(join(tmpdir(), 'p1mcp-startup-'));
    const transport = new StdioClientTransport({ command: process.execPath, args: [BIN], env: serverEnv(work), stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'start-up-e2e', version: '1.0.0' });
    const spawnedAt = Date.now();
    await client.connect(transport);
    await client.listTools();
    const listedAt = Date.now();
    await sleep(50);
    const found = await client.callTool({ name: 'find_user', arguments: { query: 'jdoe' } });
    expect(found.isError).toBeFalsy();
    await client.close();
    for (let waited = 0; !stderr.includes('shutting down') && waited < 5_000; waited += 50) await sleep(50);

    const lines = logLines(stderr);
    expect(lines.map((line) => line.msg)).toEqual(['serving MCP on stdio', 'shutting down']);
    const [started, stopping] = lines as [LogLine, LogLine];
    expect(started).toMatchObject({ level: 30, name: 'pingone-helpdesk-mcp', environmentId: environmentFor(emulator).PINGONE_ENVIRONMENT_ID, sandbox: false });
    expect(started.time).toBeGreaterThanOrEqual(spawnedAt);
    expect(started.time).toBeLessThanOrEqual(listedAt);
    expect(stopping.time).toBeGreaterThan(listedAt);
    expect(stopping.pid).toBe(started.pid);
  });

  it.each(['SIGTERM', 'SIGHUP'] as const)('still reaches stderr on a %s right after start-up', async (signal) => {
    const work = mkdtempSync(join(tmpdir(), 'p1mcp-startup-'));
    const child = spawn(process.execPath, [BIN], { env: serverEnv(work), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'e2e', version: '1' } } })}\n`);
    for (let waited = 0; !stdout.includes('"id":1') && waited < 10_000; waited += 10) await sleep(10);
    // SIGHUP (a terminal or client hanging up) too: by default it ends the process without an exit event.
    child.kill(signal);
    expect(await exited).toBe(0);

    const lines = logLines(stderr);
    expect(lines.map((line) => line.msg)).toEqual(['serving MCP on stdio', 'shutting down']);
    expect(lines[1]).toMatchObject({ why: signal, level: 30 });
    // stdout carried MCP only: the initialize answer.
    expect(stdout.trim().split('\n').map((line) => (JSON.parse(line) as { id: number }).id)).toEqual([1]);
  });

  it('is not written (and pino not loaded for it) below the configured level; a configuration error is one plain line, exit 2', async () => {
    const work = mkdtempSync(join(tmpdir(), 'p1mcp-startup-'));
    const out = join(work, 'modules.json');
    const client = new Client({ name: 'start-up-e2e', version: '1.0.0' });
    const transport = new StdioClientTransport({ command: process.execPath, args: ['--import', FIXTURE, BIN], env: serverEnv(work, { PINGONE_MCP_LOG_LEVEL: 'warn', LOADED_MODULES_OUT: out }), stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await client.connect(transport);
    await client.listTools();
    await client.close();
    for (let waited = 0; !existsSync(`${out}.at-exit`) && waited < 5_000; waited += 50) await sleep(50);
    expect((JSON.parse(readFileSync(`${out}.at-exit`, 'utf8')) as Loaded).commonJs.filter((file) => file.includes('pino'))).toEqual([]);
    expect(stderr).toBe('');

    const bad = spawn(process.execPath, [BIN], { env: serverEnv(work, { PINGONE_MCP_LOG_LEVEL: 'loud' }), stdio: ['pipe', 'pipe', 'pipe'] });
    let badErr = '';
    bad.stderr.on('data', (chunk: Buffer) => (badErr += chunk.toString()));
    expect(await new Promise<number | null>((done) => bad.once('exit', (code) => done(code)))).toBe(2);
    expect(badErr).toMatch(/^pingone-helpdesk-mcp: PINGONE_MCP_LOG_LEVEL .*\n$/);
  });
});

describe('a log writer gone from under a running server', () => {
  it('never turns a log line into a failed call: one plain line says so, calls and shutdown go on', async () => {
    // An npx cache cleaned or a package removed while the server runs: pino's file is missing at its first line.
    const work = mkdtempSync(join(tmpdir(), 'p1mcp-startup-'));
    const dist = join(work, 'dist');
    cpSync(resolve(BIN, '..'), dist, { recursive: true });
    rmSync(join(dist, 'chunks', 'pino.cjs'));
    const transport = new StdioClientTransport({ command: process.execPath, args: [join(dist, 'index.js')], env: serverEnv(work), stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'start-up-e2e', version: '1.0.0' });
    await client.connect(transport);
    // An unknown user is logged as a warning: the first line after the start-up line, so pino is needed now.
    const answer = await client.callTool({ name: 'unlock_user', arguments: { user: 'nobody-by-this-name', reason: 'E2E-1' } });
    const text = JSON.stringify(answer);
    expect(text).not.toMatch(/Cannot find module|pino\.cjs|Require stack/);
    expect(answer.structuredContent).toMatchObject({ outcome: 'failed', error: { code: 'USER_NOT_FOUND' } });
    expect((await client.callTool({ name: 'find_user', arguments: { query: 'jdoe' } })).isError).toBeFalsy();
    await client.close();
    for (let waited = 0; !stderr.includes('\n') && waited < 5_000; waited += 50) await sleep(50);
    expect(stderr).toBe('pingone-helpdesk-mcp: cannot load its log writer (MODULE_NOT_FOUND); log lines are dropped from now on. Reinstall the package and restart the server.\n');
  });
});
