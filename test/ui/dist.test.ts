import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, expect, it } from 'vitest';
import { CARD_URI } from '../../src/ui/card.js';
import { buildCardHtml } from '../../src/ui/view/bundle.mjs';
import { UI_CAPABILITIES } from './support.js';

/** The built binary, as an MCP client launches it. `npm test` builds first. */
const BIN = resolve(import.meta.dirname, '../../dist/index.js');

let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
});

it('the built binary serves the card it was bundled with, byte for byte what the view builds to', async () => {
  const home = mkdtempSync(join(tmpdir(), 'p1mcp-home-'));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, '--sandbox', '--audit-log', join(home, 'audit.jsonl')],
    env: { PATH: process.env.PATH ?? '', HOME: home },
    stderr: 'pipe',
  });
  client = new Client({ name: 'ui-e2e', version: '1.0.0' }, { capabilities: UI_CAPABILITIES });
  await client.connect(transport);
  const { contents } = await client.readResource({ uri: CARD_URI });
  const page = contents[0];
  expect(page && 'text' in page ? page.text : undefined).toBe(await buildCardHtml());
});
