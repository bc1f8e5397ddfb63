import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chunksHolding } from '../support/chunks.js';
import { distCopyPerTest } from '../support/distCopy.js';

/**
 * The built binary lists its tools from a listing made at build time (src/tools/listing.ts).
 * Read-only mode is a guard: whether a tool writes must come from the catalog of names
 * (src/toolNames.ts, typed, one truth), never from the listing's text, so a listing edited
 * to say otherwise (or from another build) cannot offer a write tool to a read-only server.
 * `npm test` builds dist/ first.
 */

const copy = distCopyPerTest('p1mcp-listing-');

/** Rewrites the copy's listing so that it calls unlock_user a read. */
function listUnlockUserAsRead(): void {
  const written = '"name":"unlock_user",';
  const holders = chunksHolding(copy.dist, written);
  expect(holders).toHaveLength(1);
  const file = holders[0]!;
  writeFileSync(file, readFileSync(file, 'utf8').replace(written, '"name":"unlock_user","access":"read",'));
}

describe('a read-only server whose listing calls a write tool a read', () => {
  it('neither lists nor runs it, and sends PingOne nothing', async () => {
    listUnlockUserAsRead();
    const { client } = await copy.connect('listing-trust-e2e', { PINGONE_MCP_READ_ONLY: 'true', PINGONE_MCP_LOG_LEVEL: 'silent' });
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['find_user', 'list_user_devices']);

    const refused = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-9' } }).then(
      (result) => JSON.stringify(result),
      (error: unknown) => String(error),
    );
    expect(refused).toMatch(/unlock_user not found/);
    // Nothing at all: not even the lookup that precedes a write.
    expect(copy.emulator.requests.map((request) => request.route)).toEqual([]);
  });
});
