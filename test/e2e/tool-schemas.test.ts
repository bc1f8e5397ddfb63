import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_TOOLS } from '../../src/tools/catalog.js';
import { harnessPerTest } from '../support/harness.js';

/**
 * The built binary answers tools/list with JSON Schemas converted when it was
 * built (src/tools/builtSchemas.ts); the unbundled server converts them live
 * with zod. A client must not be able to tell: both lists are compared whole.
 * `npm test` builds dist/ first.
 */

const DIST = resolve(import.meta.dirname, '../../dist');
const startHarness = harnessPerTest();

let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
});

describe('tool JSON Schemas converted at build time', () => {
  it('are carried by the bundle for every tool', () => {
    const chunks = join(DIST, 'chunks');
    const carrying = readdirSync(chunks)
      .filter((name) => name.endsWith('.js'))
      .map((name) => readFileSync(join(chunks, name), 'utf8'))
      .filter((text) => text.includes('{"find_user":{"input":{'));
    // Once, as JSON text (parsed at the first tools/list).
    expect(carrying).toHaveLength(1);
    for (const tool of ALL_TOOLS) expect(carrying[0]).toContain(`"${tool.name}":{"input":{"$schema":`);
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
      expect(tool.inputSchema, `${tool.name} inputSchema`).toEqual(same?.inputSchema);
      expect(tool.outputSchema, `${tool.name} outputSchema`).toEqual(same?.outputSchema);
      expect(tool.outputSchema?.properties, `${tool.name} has an output schema`).toBeDefined();
    }
  });
});
