import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentFor } from '../../src/sandbox/connect.js';
import { startTestEmulator, type TestEmulator } from '../support/emulator.js';

/**
 * What the built binary loads on the way to its first tools/list answer, in
 * tenant mode as a desktop client starts it: a preloaded fixture records the
 * Node built-ins loaded by then. `npm test` builds dist/ first.
 */

const BIN = resolve(import.meta.dirname, '../../dist/index.js');
const FIXTURE = resolve(import.meta.dirname, 'fixtures/loaded-modules.mjs');

let emulator: TestEmulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

async function builtInsAtFirstToolsList(): Promise<string[]> {
  const work = mkdtempSync(join(tmpdir(), 'p1mcp-startup-'));
  const out = join(work, 'modules.json');
  const client = new Client({ name: 'start-up-e2e', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: ['--import', FIXTURE, BIN],
      env: { PATH: process.env.PATH ?? '', HOME: work, ...environmentFor(emulator), PINGONE_MCP_AUDIT_LOG: join(work, 'audit.jsonl'), LOADED_MODULES_OUT: out },
    }),
  );
  try {
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    for (let waited = 0; !existsSync(out) && waited < 5_000; waited += 50) await sleep(50);
    return JSON.parse(readFileSync(out, 'utf8')) as string[];
  } finally {
    await client.close();
  }
}

describe('the built binary on its way to the first tools/list', () => {
  it('loads node:assert only when pino would use it (never, at start-up), nor anything for HTTP', async () => {
    const loaded = await builtInsAtFirstToolsList();
    // The record is real: what the server did need is in it.
    expect(loaded).toContain('NativeModule crypto');
    expect(loaded).toContain('NativeModule fs/promises');
    // pino's sonic-boom and thread-stream get a stand-in that loads node:assert at its one check (build.mjs).
    expect(loaded).not.toContain('NativeModule assert');
    // undici (PingOne's transport) and the HTTP listener load on first use.
    expect(loaded).not.toContain('NativeModule http');
    expect(loaded).not.toContain('NativeModule tls');
  });
});
