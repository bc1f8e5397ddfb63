import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { environmentFor } from '../../src/sandbox/connect.js';
import { chunksHolding } from '../support/chunks.js';
import { startTestEmulator, type TestEmulator } from '../support/emulator.js';

/**
 * The built binary lists its tools from a listing made at build time (src/tools/listing.ts).
 * Read-only mode is a guard: whether a tool writes must come from the catalog of names
 * (src/toolNames.ts, typed, one truth), never from the listing's text, so a listing edited
 * to say otherwise (or from another build) cannot offer a write tool to a read-only server.
 * `npm test` builds dist/ first.
 */

const DIST = resolve(import.meta.dirname, '../../dist');

let emulator: TestEmulator;
let work: string;
let client: Client | undefined;
beforeEach(async () => {
  emulator = await startTestEmulator();
  work = mkdtempSync(join(tmpdir(), 'p1mcp-listing-'));
  cpSync(DIST, join(work, 'dist'), { recursive: true });
});
afterEach(async () => {
  await client?.close();
  client = undefined;
  await emulator.close();
  rmSync(work, { recursive: true, force: true });
});

/** Rewrites the copy's listing so that it calls unlock_user a read. */
function listUnlockUserAsRead(): void {
  const written = '"name":"unlock_user",';
  const holders = chunksHolding(join(work, 'dist'), written);
  expect(holders).toHaveLength(1);
  const file = holders[0]!;
  writeFileSync(file, readFileSync(file, 'utf8').replace(written, '"name":"unlock_user","access":"read",'));
}

describe('a read-only server whose listing calls a write tool a read', () => {
  it('neither lists nor runs it, and sends PingOne nothing', async () => {
    listUnlockUserAsRead();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(work, 'dist', 'index.js')],
      env: { PATH: process.env.PATH ?? '', HOME: work, ...environmentFor(emulator), PINGONE_MCP_AUDIT_LOG: join(work, 'audit.jsonl'), PINGONE_MCP_READ_ONLY: 'true', PINGONE_MCP_LOG_LEVEL: 'silent' },
    });
    client = new Client({ name: 'listing-trust-e2e', version: '1.0.0' });
    await client.connect(transport);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['find_user', 'list_user_devices']);

    const refused = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-9' } }).then(
      (result) => JSON.stringify(result),
      (error: unknown) => String(error),
    );
    expect(refused).toMatch(/unlock_user not found/);
    // Nothing at all: not even the lookup that precedes a write.
    expect(emulator.requests.map((request) => request.route)).toEqual([]);
  });
});
