import { describe, expect, it } from 'vitest';
import type { McpRequestContext, McpServer } from '@modelcontextprotocol/server';
import { httpHarnessPerTest, READ_SCOPE, structuredOf, type HttpHarness } from './support.js';

const start = httpHarnessPerTest();

/** The per-request envelope a 2026-07-28 request carries in `params._meta`. */
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** One stateless tools/call sent by hand: `args` is JSON text, so that it can hold an own `__proto__` key. */
async function rawToolCall(harness: HttpHarness, options: { name: string; headerName?: string; args: string; token?: string }): Promise<{ status: number; body: string }> {
  const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":${JSON.stringify(options.name)},"arguments":${options.args},"_meta":${JSON.stringify(ENVELOPE)}}}`;
  const response = await fetch(harness.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': options.headerName ?? options.name,
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    },
    body,
  });
  return { status: response.status, body: await response.text() };
}

/** Requests that changed something in PingOne (the token request aside). */
function pingOneWrites(harness: HttpHarness): unknown[] {
  return harness.emulator.requests.filter((request) => request.method === 'POST' && request.route !== 'token');
}

interface Built {
  method: string | null;
  name: string | null;
  capabilities: string[];
  /** The tools the instance registered (the SDK keeps them in a private table, read here for the test only). */
  tools: string[];
}

/** Every instance the listener's factory builds, with the call it was built for and what it registered. */
function recordInstances(): { built: Built[]; decorate: (server: McpServer, ctx: McpRequestContext) => void } {
  const built: Built[] = [];
  return {
    built,
    decorate: (server, ctx) => {
      const headers = ctx.requestInfo?.headers;
      const registered = (server as unknown as { _registeredTools?: Record<string, unknown> })._registeredTools;
      built.push({
        method: headers?.get('mcp-method') ?? null,
        name: headers?.get('mcp-name') ?? null,
        capabilities: Object.keys(server.server.getCapabilities()).sort(),
        tools: Object.keys(registered ?? {}).sort(),
      });
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
    expect(call).toEqual({ method: 'tools/call', name: 'find_user', capabilities: ['tools'], tools: ['find_user'] });
    expect(list!.tools).toEqual(['find_user', 'list_user_devices', 'unblock_device', 'unlock_device', 'unlock_user']);
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

  it('refuses an argument named __proto__ on the instance built for one write, and PingOne sees no write', async () => {
    const { built, decorate } = recordInstances();
    const harness = await start({ env: { PINGONE_MCP_CONFIRM: 'never' }, decorate });
    // An own `__proto__` key only JSON text can carry: it would turn the dry run off if it reached the tool's parsing.
    const answer = await rawToolCall(harness, { name: 'unlock_user', args: '{"user":"jdoe","reason":"T-1","dryRun":true,"__proto__":{"dryRun":false}}' });
    expect(built).toEqual([{ method: 'tools/call', name: 'unlock_user', capabilities: ['tools'], tools: ['unlock_user'] }]);
    expect(answer.status).toBe(200);
    const result = (JSON.parse(answer.body) as { result: { structuredContent: { outcome: string; summary: string } } }).result.structuredContent;
    expect(result.outcome).toBe('invalid_input');
    expect(result.summary).toContain('`__proto__` is not an argument');
    expect(pingOneWrites(harness)).toEqual([]);
    expect((await harness.audit()).map((record) => [record.tool, record.phase, record.outcome])).toEqual([['unlock_user', 'outcome', 'invalid_input']]);
  });

  it('answers a write named in a Base64 Mcp-Name header from a token without the write scope with the step-up, on the whole server', async () => {
    const { built, decorate } = recordInstances();
    const harness = await start({ env: { PINGONE_MCP_CONFIRM: 'never' }, oauth: {}, decorate });
    const token = await harness.oauth!.token({ scope: READ_SCOPE });
    // The SDK decodes the header to compare it with the body; the factory sees the encoded text, names no tool, and builds the whole server.
    const encoded = `=?base64?${Buffer.from('unlock_user').toString('base64')}?=`;
    const answer = await rawToolCall(harness, { name: 'unlock_user', headerName: encoded, args: '{"user":"jdoe","reason":"T-1"}', token });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'insufficient_scope' });
    expect(built).toHaveLength(1);
    expect(built[0]!.capabilities).toEqual(expect.arrayContaining(['tools', 'prompts', 'resources']));
    expect(pingOneWrites(harness)).toEqual([]);
    expect((await harness.audit()).map((record) => [record.tool, record.phase, record.outcome])).toEqual([['unlock_user', 'outcome', 'denied']]);
  });
});
