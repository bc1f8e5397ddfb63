import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_TOOLS } from '../../src/tools/catalog.js';
import { chunksHolding } from '../support/chunks.js';
import { harnessPerTest } from '../support/harness.js';

/**
 * The built binary answers tools/list from the listing made when it was built
 * (src/tools/listing.ts: titles, descriptions, JSON Schemas), without loading
 * the tools' code; the unbundled server makes the listing from the tool
 * modules with zod at load. A client must not be able to tell: both lists are
 * compared whole. `npm test` builds dist/ first.
 */

const DIST = resolve(import.meta.dirname, '../../dist');
const startHarness = harnessPerTest();

let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
});

describe('the tool listing made at build time', () => {
  it('is carried by the bundle for every tool, JSON Schemas included', () => {
    const carrying = chunksHolding(DIST, '[{"name":"find_user","title":').map((file) => readFileSync(file, 'utf8'));
    // Once, as JSON text (parsed when the server module loads).
    expect(carrying).toHaveLength(1);
    for (const tool of ALL_TOOLS) expect(carrying[0]).toMatch(new RegExp(`\\{"name":"${tool.name}","title":.*?"input":\\{"\\$schema":`));
  });

  it('give the built binary the same tools/list as the live conversion', async () => {
    const live = await startHarness();
    const expected = (await live.client.listTools()).tools;

    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(DIST, 'index.js'), '--sandbox', '--audit-log', join(mkdtempSync(join(tmpdir(), 'p1mcp-schemas-')), 'audit.jsonl')],
      env: { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'p1mcp-home-')), PINGONE_MCP_LOG_LEVEL: 'silent' },
    });
    client = new Client({ name: 'schemas-e2e', version: '1.0.0' });
    await client.connect(transport);
    const built = (await client.listTools()).tools;

    expect(built.map((tool) => tool.name)).toEqual(ALL_TOOLS.map((tool) => tool.name));
    for (const tool of built) {
      const same = expected.find((candidate) => candidate.name === tool.name);
      expect(tool.outputSchema?.properties, `${tool.name} has an output schema`).toBeDefined();
      expect(tool.description?.length, `${tool.name} has a description`).toBeGreaterThan(100);
      // Everything a client is shown: title, description, annotations, both schemas.
      expect(tool, tool.name).toEqual(same);
    }
  });
});
