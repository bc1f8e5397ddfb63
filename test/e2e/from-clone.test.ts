import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * The README's "Run it from a clone" section, followed word for word: its
 * Claude Desktop configuration, with the placeholder replaced by this clone's
 * absolute path, started exactly as the client starts it, driven by the
 * official MCP client. `npm test` builds dist/ first.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const PLACEHOLDER = '<absolute path of the clone>';

interface Launch {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

/** The first ```json block of the README section titled `heading`. */
function jsonBlockOf(heading: string): unknown {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  expect(start, `README has no "${heading}" section`).toBeGreaterThanOrEqual(0);
  const section = readme.slice(start + heading.length + 2).split(/\n#{2,3} /)[0]!;
  const block = /```json\n([\s\S]*?)```/.exec(section);
  expect(block, `"${heading}" has no JSON configuration`).not.toBeNull();
  return JSON.parse(block![1]!);
}

let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
});

describe("README's Run it from a clone", () => {
  it('the Claude Desktop configuration starts the clone in sandbox mode, and its trail is where `audit --sandbox` looks', async () => {
    const config = jsonBlockOf('### Run it from a clone') as { mcpServers: Record<string, Launch> };
    const [launch] = Object.values(config.mcpServers);
    expect(launch!.command).toBe('node');
    expect(launch!.args.some((arg) => arg.includes(PLACEHOLDER))).toBe(true);
    const args = launch!.args.map((arg) => arg.replace(PLACEHOLDER, ROOT));
    expect(existsSync(args[0]!), `${args[0]} must exist after npm run build`).toBe(true);

    // What a desktop client passes: its own small environment, `node` found on PATH, the person's HOME.
    const home = mkdtempSync(join(tmpdir(), 'p1mcp-clone-home-'));
    const transport = new StdioClientTransport({
      command: launch!.command,
      args,
      env: { PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, HOME: home, XDG_STATE_HOME: join(home, '.local', 'state'), ...launch!.env },
      stderr: 'pipe',
    });
    client = new Client({ name: 'claude-desktop-like', version: '1.0.0' });
    await client.connect(transport);

    const found = await client.callTool({ name: 'find_user', arguments: { query: 'jdoe' } });
    expect(found.structuredContent).toMatchObject({ outcome: 'found', sandbox: true });
    const unlocked = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'CLONE-1' } });
    expect(unlocked.structuredContent).toMatchObject({ outcome: 'unlocked', sandbox: true });
    await client.close();
    client = undefined;

    // The sandbox trail lives in the per-user state directory, apart from a tenant's.
    const stateDir = join(home, '.local', 'state', 'pingone-helpdesk-mcp');
    expect(readdirSync(stateDir)).toContain('sandbox-audit.jsonl');
  });
});
