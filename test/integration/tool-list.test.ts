import { describe, expect, it } from 'vitest';
import { TOOL_ACCESS, TOOL_NAMES } from '../../src/toolNames.js';
import { ERAS, harnessPerTest, pingOneWrites, type Harness } from '../support/harness.js';

// The catalog's names by access; the snapshot below is the reviewed record of what each one looks like.
const READ_TOOLS = TOOL_NAMES.filter((name) => TOOL_ACCESS[name] === 'read');
const WRITE_TOOLS = TOOL_NAMES.filter((name) => TOOL_ACCESS[name] === 'write');

const start = harnessPerTest();

const READ_HINTS = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true };
const WRITE_HINTS = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true };

describe.each(ERAS)('tools/list over a %s-era connection', (era) => {
  it('offers the lookups and the restorative writes, titled and annotated by access', async () => {
    const harness = await start({ era });
    expect(harness.client.getNegotiatedProtocolVersion()).toBe(era === 'modern' ? '2026-07-28' : '2025-11-25');
    const { tools } = await harness.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(TOOL_NAMES);
    for (const tool of tools) {
      expect(tool.title).toBeTruthy();
      expect(tool.annotations).toEqual((READ_TOOLS as string[]).includes(tool.name) ? READ_HINTS : WRITE_HINTS);
      expect(tool.inputSchema.additionalProperties).toBe(false);
      expect(tool.outputSchema?.required).toEqual(expect.arrayContaining(['outcome', 'auditId', 'summary']));
    }
  });
});

describe('what the model sees', () => {
  // Any change to a name, description, schema or annotation changes this file: a reviewed change.
  // Regenerate deliberately with `npx vitest run test/integration/tool-list.test.ts -u`.
  it('matches the reviewed snapshot of every tool definition and the instructions', async () => {
    const harness = await start();
    const { tools } = await harness.client.listTools();
    await expect(JSON.stringify(tools, null, 2) + '\n').toMatchFileSnapshot('./__snapshots__/tools.json');
    await expect(harness.client.getInstructions() + '\n').toMatchFileSnapshot('./__snapshots__/instructions.txt');
  });

  it('offers only the lookups in read-only mode, whatever the allow-list says', async () => {
    const harness = await start({ env: { PINGONE_MCP_READ_ONLY: 'true', PINGONE_MCP_TOOLS: 'find_user,unlock_user' } });
    const { tools } = await harness.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['find_user']);
    expect(harness.client.getInstructions()).toMatch(/read-only/);
  });

  it('offers exactly the allow-listed tools', async () => {
    const harness = await start({ env: { PINGONE_MCP_TOOLS: 'list_user_devices, unblock_device' } });
    const { tools } = await harness.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['list_user_devices', 'unblock_device']);
  });

  it.each(WRITE_TOOLS)('refuses a call to %s when the configuration does not offer it, and PingOne sees nothing', async (name) => {
    const harness = await start({ env: { PINGONE_MCP_READ_ONLY: 'true' } });
    const { tools } = await harness.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(READ_TOOLS);
    const result = await harness.client
      .callTool({ name, arguments: { user: 'jdoe', deviceId: '00000000-0000-4000-8000-000000000000' } })
      .then(() => ({ thrown: undefined, code: undefined }), (error: Error & { code?: number }) => ({ thrown: error.message, code: error.code }));
    expect(result).toEqual({ thrown: `Tool ${name} not found`, code: -32602 });
    expect(harness.emulator.requests).toHaveLength(0);
    expect(harness.audit()).toEqual([]);
  });
});
