import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { environmentFor } from '../../src/sandbox/connect.js';
import { startTestEmulator, type TestEmulator } from '../support/emulator.js';
import { startHttpBinary } from './httpBinary.js';

const emulators: TestEmulator[] = [];
afterEach(async () => {
  await Promise.all(emulators.splice(0).map((emulator) => emulator.close()));
});

/**
 * The built binary with --http on loopback against an emulated tenant, without OAuth (loopback only), so
 * that a client's bodies reach the MCP transport; its stderr (the operational log) collected.
 */
async function startBinary(): Promise<{ url: URL; stderr: () => string }> {
  const emulator = await startTestEmulator();
  emulators.push(emulator);
  const server = startHttpBinary(['--http'], { ...environmentFor(emulator), PINGONE_MCP_LOG_LEVEL: 'debug', PINGONE_MCP_AUDIT_LOG: join(mkdtempSync(join(tmpdir(), 'p1mcp-')), 'a.jsonl') });
  return { url: await server.url, stderr: server.stderr };
}

// Attack: any HTTP client the guard lets through sends a body whose text the transport's error message
// quotes (a JSON parse error shows a snippet; an unknown message is shown whole) into the operational log.
it('a malformed or unknown message never carries direction-changing or line-separating characters into the log', async () => {
  const server = await startBinary();
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const bodies = ['x\u202Eevil\u2028 line', JSON.stringify({ jsonrpc: '2.0', id: 'zz\u202E', result: { note: 'evil\u2028line\u202E' } })];
  for (const body of bodies) {
    const response = await fetch(server.url, { method: 'POST', headers, body });
    expect(response.status).toBeGreaterThanOrEqual(200);
  }
  await new Promise((r) => setTimeout(r, 300));
  const log = server.stderr();
  expect(log).toMatch(/MCP HTTP transport error/);
  expect(log).not.toMatch(/[\u202E\u2028]/);
});
