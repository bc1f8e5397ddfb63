import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, expect, it } from 'vitest';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { environmentFor } from '../../src/sandbox/connect.js';
import type { Emulator } from '../../src/sandbox/emulator.js';
import { startTestEmulator, type TestEmulator } from '../support/emulator.js';
import { readAudit } from '../support/harness.js';

const BIN = resolve(import.meta.dirname, '../../dist/index.js');

let emulator: TestEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

/** The binary configured as for a real tenant, with the emulator standing in for PingOne. */
function serverEnv(e: Emulator, auditPath: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    ...environmentFor(e),
    PINGONE_MCP_AUDIT_LOG: auditPath,
    PINGONE_MCP_LOG_LEVEL: 'silent',
  };
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('a SIGKILL between intent and outcome leaves a valid chain ending in the intent, and a restart continues it', async () => {
  emulator = await startTestEmulator();
  const auditPath = join(mkdtempSync(join(tmpdir(), 'p1mcp-crash-')), 'audit.jsonl');
  emulator.faults.add({ match: { route: 'user.action' }, action: { kind: 'hang' } });

  // Speak MCP by hand over the child's pipes: the client library must not outlive the kill.
  const child = spawn(process.execPath, [BIN], { env: serverEnv(emulator, auditPath), stdio: ['pipe', 'pipe', 'inherit'] });
  const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
  send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'crash-test', version: '1' } } });
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-crash' } } });

  await waitFor(() => emulator!.requests.some((r) => r.route === 'user.action'));
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;

  const afterCrash = readAudit(auditPath);
  expect(afterCrash.map((r) => r.phase)).toEqual(['intent']);
  expect(await verifyAuditFile(auditPath)).toMatchObject({ ok: true, records: 1 });

  const client = new Client({ name: 'after-crash', version: '1' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN], env: serverEnv(emulator, auditPath) }));
  const result = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-crash retry' } });
  await client.close();

  expect(result.structuredContent).toMatchObject({ outcome: 'unlocked' });
  expect(readAudit(auditPath).map((r) => [r.seq, r.phase])).toEqual([
    [1, 'intent'],
    [2, 'intent'],
    [3, 'outcome'],
  ]);
  expect(await verifyAuditFile(auditPath)).toMatchObject({ ok: true, records: 3 });
});
