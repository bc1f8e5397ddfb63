import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { environmentFor } from '../../../src/sandbox/connect.js';
import { afterEach, expect } from 'vitest';
import type { Emulator } from '../../../src/sandbox/emulator.js';
import { startTestEmulator, type TestEmulator } from '../../support/emulator.js';

/** The built binary, as an MCP client launches it (`npm test` builds first). */
export const BIN = resolve(import.meta.dirname, '../../../dist/index.js');

export type JsonRpc = {
  jsonrpc?: unknown;
  id?: string | number | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, any>;
  error?: { code: number; message: string; data?: unknown };
};

export interface Spawned {
  readonly pid: number;
  /** Writes one line: a message object, or a raw string as is. */
  send(message: object | string): void;
  /** Closes the server's stdin. */
  endInput(): void;
  /** Every complete stdout line so far, raw. */
  stdoutLines(): string[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout message matching, or rejects after `timeoutMs`. */
  waitFor(predicate: (message: JsonRpc) => boolean, timeoutMs?: number): Promise<JsonRpc>;
  response(id: string | number, timeoutMs?: number): Promise<JsonRpc>;
  /** `initialize` (2025-11-25) and `notifications/initialized`. */
  initialize(clientName?: string): Promise<JsonRpc>;
  callTool(id: number, name: string, args: Record<string, unknown>): void;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exitCode: number | null;
  kill(signal?: NodeJS.Signals): void;
}

export function tempAuditPath(prefix = 'p1mcp-res-'): string {
  return join(mkdtempSync(join(tmpdir(), prefix)), 'audit.jsonl');
}

/** The binary configured as for a real tenant, with the emulator standing in for PingOne. */
export function tenantEnv(emulator: Emulator, auditPath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: mkdtempSync(join(tmpdir(), 'p1mcp-home-')),
    ...environmentFor(emulator),
    PINGONE_MCP_AUDIT_LOG: auditPath,
    PINGONE_MCP_LOG_LEVEL: 'info',
    ...extra,
  };
}

/**
 * Spawns the built server and speaks JSON-RPC to it by hand over its pipes, so
 * that a test sees every byte of stdout and can misbehave as no client library would.
 */
export function spawnServer(options: { env: Record<string, string>; args?: string[]; nodeOptions?: string[] }): Spawned {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [...(options.nodeOptions ?? []), BIN, ...(options.args ?? [])], {
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const messages: JsonRpc[] = [];
  const listeners = new Set<() => void>();
  let lineStart = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    let newline: number;
    while ((newline = out.indexOf('\n', lineStart)) !== -1) {
      const line = out.slice(lineStart, newline);
      lineStart = newline + 1;
      try {
        messages.push(JSON.parse(line) as JsonRpc);
      } catch {
        // Not JSON: the protocol check (expectProtocolOnly) reports it.
      }
    }
    for (const listener of listeners) listener();
  });
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  // Writing to a server that already exited must not crash the test runner.
  child.stdin.on('error', () => {});
  let exitCode: number | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise) =>
    child.once('exit', (code, signal) => {
      exitCode = code;
      resolvePromise({ code, signal });
    }),
  );

  const waitFor = (predicate: (message: JsonRpc) => boolean, timeoutMs = 10_000): Promise<JsonRpc> =>
    new Promise((resolvePromise, reject) => {
      const check = (): boolean => {
        const found = messages.find(predicate);
        if (found === undefined) return false;
        cleanup();
        resolvePromise(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching message within ${timeoutMs} ms; stdout so far:\n${out.slice(-2000)}\nstderr:\n${err.slice(-2000)}`));
      }, timeoutMs);
      const onData = () => void check();
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(onData);
      };
      listeners.add(onData);
      check();
    });

  const send = (message: object | string): void => {
    if (child.stdin.writable) child.stdin.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
  };

  return {
    pid: child.pid ?? -1,
    send,
    endInput: () => child.stdin.end(),
    stdoutLines: () => out.slice(0, lineStart).split('\n').filter((line) => line !== ''),
    stdout: () => out,
    stderr: () => err,
    waitFor,
    response: (id, timeoutMs) => waitFor((m) => m.id === id && (m.result !== undefined || m.error !== undefined), timeoutMs),
    async initialize(clientName = 'resilience-test') {
      send({ jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: clientName, version: '1' } } });
      const answer = await waitFor((m) => m.id === 'init');
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      return answer;
    },
    callTool(id, name, args) {
      send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
    },
    exited,
    get exitCode() {
      return exitCode;
    },
    kill: (signal = 'SIGKILL') => {
      if (exitCode === null) child.kill(signal);
    },
  };
}

/** stdout is the protocol channel: every line must be one JSON-RPC 2.0 message. */
export function protocolViolations(lines: string[]): string[] {
  return lines.filter((line) => {
    try {
      const message = JSON.parse(line) as JsonRpc;
      if (message === null || typeof message !== 'object' || Array.isArray(message) || message.jsonrpc !== '2.0') return true;
      const isResponse = 'id' in message && (message.result !== undefined || message.error !== undefined);
      const isRequestOrNotification = typeof message.method === 'string';
      return !(isResponse || isRequestOrNotification);
    } catch {
      return true;
    }
  });
}

export async function waitUntil(condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * For a test file that starts its own emulator and servers (several per test,
 * initialized by the test): whatever `emulator()` and `spawn()` started is
 * stopped after each test.
 */
export function stoppedAfterEach(): { emulator: () => Promise<TestEmulator>; spawn: typeof spawnServer } {
  let emulator: TestEmulator | undefined;
  const servers: Spawned[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.kill();
      await server.exited;
    }
    await emulator?.close();
    emulator = undefined;
  });
  return {
    emulator: async () => (emulator = await startTestEmulator()),
    spawn: (options) => {
      const server = spawnServer(options);
      servers.push(server);
      return server;
    },
  };
}

/**
 * A starter for the current test file: a fresh emulator and the built binary
 * pointed at it, initialized. After each test the binary's stdout must have
 * carried nothing but JSON-RPC; then both are stopped.
 */
export function spawnedPerTest(): (extraEnv?: Record<string, string>, nodeOptions?: string[]) => Promise<{ server: Spawned; emulator: TestEmulator; auditPath: string }> {
  let emulator: TestEmulator | undefined;
  let server: Spawned | undefined;
  afterEach(async () => {
    if (server) {
      expect(protocolViolations(server.stdoutLines())).toEqual([]);
      server.kill();
      await server.exited;
    }
    server = undefined;
    await emulator?.close();
    emulator = undefined;
  });
  return async (extraEnv = {}, nodeOptions = []) => {
    emulator = await startTestEmulator();
    const auditPath = tempAuditPath();
    server = spawnServer({ env: tenantEnv(emulator, auditPath, extraEnv), nodeOptions });
    await server.initialize();
    return { server, emulator, auditPath };
  };
}
