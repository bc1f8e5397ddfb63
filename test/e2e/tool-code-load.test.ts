import { existsSync, renameSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { chunksHolding, TOOL_CODE_MARKER } from '../support/chunks.js';
import { distCopyPerTest } from '../support/distCopy.js';
import { readAudit } from '../support/harness.js';

/**
 * The built binary loads its tools' code at the first tools/call (src/tools/register.ts).
 * When that code is gone (the package was updated or removed under a running server: a
 * second `npx -y` after a release reinstalls into the same directory), the call must fail
 * closed: nothing sent to PingOne, nothing recorded, an answer that tells the person what
 * to do without naming files on the operator's machine, and a line in the server's log
 * (the only place an administrator can learn why every call fails). Once the file is
 * back, the next call works. `npm test` builds dist/ first.
 */

const copy = distCopyPerTest('p1mcp-tool-load-');

/** The copy's chunk that holds the tool modules (the one that defines the catalog). */
function toolCodeChunk(): string {
  const found = chunksHolding(copy.dist, TOOL_CODE_MARKER);
  expect(found).toHaveLength(1);
  return found[0]!;
}

function text(result: Awaited<ReturnType<Client['callTool']>>): string {
  const [first] = result.content as Array<{ type: string; text?: string }>;
  return first?.text ?? '';
}

describe("a first call whose tools' code cannot be loaded", () => {
  it('fails closed, says to restart without naming files, is logged, and a later call works once the file is back', async () => {
    const chunk = toolCodeChunk();
    renameSync(chunk, `${chunk}.gone`);
    const { auditPath, emulator, work } = copy;
    const { client, transport } = await copy.connect('tool-load-e2e', { PINGONE_MCP_LOG_LEVEL: 'info' });
    let stderr = '';
    transport.stderr?.on('data', (data: Buffer) => (stderr += data.toString('utf8')));
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('unlock_user');
    const sentBefore = emulator.requests.length;

    const refused = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-7' } });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/nothing was sent to PingOne/);
    expect(text(refused)).toMatch(/restart/i);
    // The agent (and the person reading it) learns what to do, not where the server is installed.
    expect(text(refused)).not.toContain(work);
    expect(text(refused)).not.toMatch(/chunks|ERR_MODULE_NOT_FOUND/);
    expect(emulator.requests).toHaveLength(sentBefore);
    expect(existsSync(auditPath) ? readAudit(auditPath) : []).toEqual([]);
    // The administrator's log says why, with the detail the answer leaves out.
    for (let waited = 0; !stderr.includes('ERR_MODULE_NOT_FOUND') && waited < 5_000; waited += 50) await sleep(50);
    const failure = stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; msg: string; tool?: string })
      .find((line) => line.level === 50);
    expect(failure).toMatchObject({ tool: 'unlock_user' });
    expect(failure?.msg).toMatch(/could not be loaded/);

    renameSync(`${chunk}.gone`, chunk);
    const unlocked = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-7' } });
    expect((unlocked.structuredContent as { outcome?: string }).outcome).toBe('unlocked');
    expect(readAudit(auditPath).map((record) => record.outcome ?? record.phase)).toEqual(['intent', 'unlocked']);
  });
});
