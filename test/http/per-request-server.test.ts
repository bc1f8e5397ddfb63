import { describe, expect, it } from 'vitest';
import type { McpRequestContext, McpServer } from '@modelcontextprotocol/server';
import { httpHarnessPerTest, structuredOf } from './support.js';

const start = httpHarnessPerTest();

interface Built {
  method: string | null;
  name: string | null;
  capabilities: string[];
}

/** Every instance the listener's factory builds, with the call it was built for and what it registered. */
function recordInstances(): { built: Built[]; decorate: (server: McpServer, ctx: McpRequestContext) => void } {
  const built: Built[] = [];
  return {
    built,
    decorate: (server, ctx) => {
      const headers = ctx.requestInfo?.headers;
      built.push({ method: headers?.get('mcp-method') ?? null, name: headers?.get('mcp-name') ?? null, capabilities: Object.keys(server.server.getCapabilities()).sort() });
    },
  };
}

describe('the per-request server instance over HTTP', () => {
  it('registers the called tool alone for a 2026-07-28 tools/call, and the whole server for anything else', async () => {
    const { built, decorate } = recordInstances();
    const harness = await start({ decorate });
    const client = await harness.connect({ era: 'modern' });
    built.length = 0;
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['find_user', 'list_user_devices', 'unlock_user', 'unblock_device', 'unlock_device']);
    expect(structuredOf(await client.callTool({ name: 'find_user', arguments: { query: 'jdoe' } })).outcome).toBe('found');
    expect((await client.listPrompts()).prompts.length).toBeGreaterThan(0);
    const [list, call, prompts] = built;
    expect(built).toHaveLength(3);
    expect(list).toMatchObject({ method: 'tools/list' });
    expect(list!.capabilities).toEqual(expect.arrayContaining(['tools', 'prompts', 'resources']));
    // No prompts, no card resource: the instance serves one tools/call.
    expect(call).toEqual({ method: 'tools/call', name: 'find_user', capabilities: ['tools'] });
    expect(prompts!.capabilities).toEqual(expect.arrayContaining(['tools', 'prompts', 'resources']));
  });

  it('answers a tool this configuration does not offer exactly as the whole server does', async () => {
    const { built, decorate } = recordInstances();
    const harness = await start({ env: { PINGONE_MCP_TOOLS: 'find_user' }, decorate });
    const client = await harness.connect({ era: 'modern' });
    built.length = 0;
    await expect(client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'T-1' } })).rejects.toThrow(/Tool unlock_user not found/);
    // The whole server (its card resource is registered), which answers the unknown name as always.
    expect(built).toHaveLength(1);
    expect(built[0]!.capabilities).toEqual(['resources', 'tools']);
    expect(await harness.audit()).toEqual([]);
  });

  it('builds no instance for a request whose Mcp-Method and Mcp-Name headers do not say what its body says', async () => {
    const { built, decorate } = recordInstances();
    const harness = await start({ decorate });
    let tamper = false;
    // A tools/list whose headers claim a tools/call of one tool: the SDK refuses it before asking the factory,
    // so a narrowed instance can never answer a list.
    const lying = (async (input: string | URL | Request, init?: RequestInit) => {
      if (!tamper) return fetch(input, init);
      const headers = new Headers(init?.headers);
      headers.set('mcp-method', 'tools/call');
      headers.set('mcp-name', 'find_user');
      return fetch(input, { ...init, headers });
    }) as typeof fetch;
    const client = await harness.connect({ era: 'modern', fetch: lying });
    built.length = 0;
    tamper = true;
    await expect(client.listTools()).rejects.toThrow();
    expect(built).toEqual([]);
    tamper = false;
    expect((await client.listTools()).tools).toHaveLength(5);
  });
});
