import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { Client, InMemoryTransport, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/client';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { assemble } from '../../src/app.js';
import type { AuditRecord } from '../../src/audit/record.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { loadConfig, type PingOneSettings } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { settingsFor } from '../../src/sandbox/connect.js';
import { startTestEmulator, type TestEmulator, type TestEmulatorOptions } from './emulator.js';
import { createServer } from '../../src/server.js';
import type { AuditSink } from '../../src/audit/record.js';

export type Era = 'legacy' | 'modern';
export const ERAS: readonly Era[] = ['legacy', 'modern'];

export interface Harness {
  client: Client;
  emulator: TestEmulator;
  auditPath: string;
  /** Parsed audit records, in file order. */
  audit(): AuditRecord[];
  /** Calls a tool and returns the result with its structuredContent typed loosely for assertions. */
  call(name: string, args: Record<string, unknown>): Promise<ToolResult>;
  tokenRequests(): number;
  close(): Promise<void>;
}

export interface ToolResult {
  isError: boolean;
  text: string;
  structured: Record<string, any>;
}

/**
 * The real server (the same `createServer` and `serveStdio` entry the binary
 * uses) behind a real MCP client over an in-memory transport, with PingOne
 * played by the emulator on loopback. Nothing of ours is mocked.
 */
export async function startHarness(
  options: {
    era?: Era;
    sandbox?: boolean;
    emulator?: TestEmulatorOptions;
    callTimeoutMs?: number;
    auditPath?: string;
    audit?: AuditSink;
    /** Replaces parts of what the server is configured with (e.g. a wrong secret). */
    pingone?: Partial<PingOneSettings>;
    /** Server environment variables, e.g. the PINGONE_MCP_* guards. */
    env?: Record<string, string>;
    /** Makes the client able to ask its person (elicitation), answering with this. */
    answer?: (request: ElicitRequest['params']) => ElicitResult | Promise<ElicitResult>;
  } = {},
): Promise<Harness> {
  const emulator = await startTestEmulator(options.emulator);
  const auditPath = options.auditPath ?? join(mkdtempSync(join(tmpdir(), 'p1mcp-')), 'audit.jsonl');
  const audit = options.audit ?? (await openAuditTrail(auditPath));
  const config = loadConfig(options.env ?? {}, { sandbox: true, auditLog: auditPath, logLevel: 'silent' });
  const parts = assemble({
    config,
    pingone: { ...settingsFor(emulator), ...options.pingone },
    audit,
    logger: createLogger('silent'),
    sandbox: options.sandbox ?? false,
    ...(options.callTimeoutMs === undefined ? {} : { callTimeoutMs: options.callTimeoutMs }),
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const handle = serveStdio(() => createServer(parts.deps), { transport: serverSide });
  const client = new Client(
    { name: 'harness-client', version: '1.0.0' },
    {
      ...(options.era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {}),
      ...(options.answer ? { capabilities: { elicitation: { form: {} } } } : {}),
    },
  );
  const answer = options.answer;
  if (answer) client.setRequestHandler('elicitation/create', (request) => answer(request.params));
  await client.connect(clientSide);
  // As a real client does: with the tools listed, every result is checked against its outputSchema.
  await client.listTools();
  let closed = false;
  return {
    client,
    emulator,
    auditPath,
    audit: () => readAudit(auditPath),
    async call(name, args) {
      const result = await client.callTool({ name, arguments: args });
      const first = (result.content as Array<{ type: string; text?: string }>)[0];
      return {
        isError: result.isError === true,
        text: first?.type === 'text' ? (first.text ?? '') : '',
        structured: (result.structuredContent ?? {}) as Record<string, any>,
      };
    },
    tokenRequests: parts.tokenRequests,
    async close() {
      if (closed) return;
      closed = true;
      await client.close().catch(() => {});
      await handle.close().catch(() => {});
      await parts.close();
      await emulator.close();
    },
  };
}

export type HarnessOptions = NonNullable<Parameters<typeof startHarness>[0]>;

/** A `startHarness` for the current test file whose harnesses are closed after each test. */
export function harnessPerTest(): (options?: HarnessOptions) => Promise<Harness> {
  const open: Harness[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((harness) => harness.close()));
  });
  return async (options) => {
    const harness = await startHarness(options);
    open.push(harness);
    return harness;
  };
}

/** The writes PingOne received: every POST but the token request. */
export function pingOneWrites(harness: Harness) {
  return harness.emulator.requests.filter((r) => r.method === 'POST' && r.route !== 'token');
}

export function readAudit(path: string): AuditRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditRecord);
}
