import { afterEach, describe, expect, it } from 'vitest';
import { Client, InMemoryTransport, StreamableHTTPClientTransport, type ClientCapabilities } from '@modelcontextprotocol/client';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';
import { CARD_URI, cardMetaFor, linkCard } from '../../src/ui/card.js';
import { startHost, UI_CAPABILITIES, type Host } from './support.js';

const open: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((item) => item.close()));
});

async function host(options: Parameters<typeof startHost>[0]): Promise<Host> {
  const started = await startHost(options);
  open.push(started);
  return started;
}

describe('the card resource on the real server', () => {
  it('is listed and served to a host that renders MCP Apps: one HTML page under a strict CSP', async () => {
    const { client, emulator } = await host({ capabilities: UI_CAPABILITIES });
    const { resources } = await client.listResources();
    expect(resources).toEqual([
      expect.objectContaining({ uri: CARD_URI, mimeType: 'text/html;profile=mcp-app', _meta: { ui: { csp: {}, prefersBorder: true } } }),
    ]);
    const { contents } = await client.readResource({ uri: CARD_URI });
    expect(contents).toHaveLength(1);
    const [page] = contents;
    expect(page).toMatchObject({ uri: CARD_URI, mimeType: 'text/html;profile=mcp-app', _meta: { ui: { csp: {} } } });
    const html = page && 'text' in page ? page.text : '';
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-[A-Za-z0-9+/=]+';/);
    for (const directive of ["connect-src 'none'", "img-src 'none'", "frame-src 'none'", "base-uri 'none'", "form-action 'none'"]) expect(csp).toContain(directive);
    // One inline script and one inline style, nothing loaded from anywhere.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/<script[^>]+src=|<link|https?:\/\//);
    expect(html.length).toBeLessThan(40_000);
    expect(emulator.requests).toHaveLength(0);
  });

  it('links the two lookups, and only them, for a host that renders MCP Apps', async () => {
    const { client } = await host({ capabilities: UI_CAPABILITIES });
    const linked = Object.fromEntries((await client.listTools()).tools.map((tool) => [tool.name, tool._meta]));
    expect(linked.find_user).toEqual({ ui: { resourceUri: CARD_URI }, 'ui/resourceUri': CARD_URI });
    expect(linked.list_user_devices).toEqual({ ui: { resourceUri: CARD_URI }, 'ui/resourceUri': CARD_URI });
    for (const write of ['unlock_user', 'unblock_device', 'unlock_device']) expect(linked[write]).toBeUndefined();
  });

  it.each(['legacy', 'modern'] as const)('is neither listed nor served to a %s-era client without the UI extension', async (era) => {
    const { client } = await host({ era });
    expect((await client.listResources()).resources).toEqual([]);
    await expect(client.readResource({ uri: CARD_URI })).rejects.toThrow(/disabled/);
    // The text results are what they always were: no UI link on any tool.
    for (const tool of (await client.listTools()).tools) expect(tool._meta).toBeUndefined();
  });
});

describe('cardMetaFor', () => {
  it('links the two lookups, for a client that renders MCP Apps only', () => {
    const linked = { ui: { resourceUri: CARD_URI }, 'ui/resourceUri': CARD_URI };
    expect(cardMetaFor('find_user', UI_CAPABILITIES)).toEqual(linked);
    expect(cardMetaFor('list_user_devices', UI_CAPABILITIES)).toEqual(linked);
    expect(cardMetaFor('unlock_user', UI_CAPABILITIES)).toBeUndefined();
    expect(cardMetaFor('find_user', undefined)).toBeUndefined();
    expect(cardMetaFor('find_user', {})).toBeUndefined();
    expect(cardMetaFor('find_user', { extensions: { 'io.modelcontextprotocol/ui': { mimeTypes: ['text/html'] } } } as ClientCapabilities)).toBeUndefined();
  });
});

/** A server with stand-ins for a lookup and a write, each linked as the real tools will be. */
function linkedServer(): McpServer {
  const server = new McpServer({ name: 'link-test', version: '1' }, { capabilities: { tools: {} } });
  const answer = () => ({ content: [{ type: 'text' as const, text: 'ok' }] });
  linkCard(server, 'find_user', server.registerTool('find_user', { description: 'lookup', inputSchema: z.object({}) }, answer));
  linkCard(server, 'unlock_user', server.registerTool('unlock_user', { description: 'write', inputSchema: z.object({}), _meta: { kept: true } }, answer));
  return server;
}

async function listedMeta(client: Client): Promise<Record<string, unknown>> {
  const { tools } = await client.listTools();
  return Object.fromEntries(tools.map((tool) => [tool.name, tool._meta]));
}

describe('linkCard', () => {
  it('declares the card on a lookup to a 2025-era client that announced the extension, and to no other', async () => {
    for (const capabilities of [UI_CAPABILITIES, undefined]) {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      open.push(serveStdio(linkedServer, { transport: serverSide }));
      const client = new Client({ name: 'c', version: '1' }, capabilities ? { capabilities } : {});
      await client.connect(clientSide);
      open.push(client);
      const meta = await listedMeta(client);
      if (capabilities) expect(meta.find_user).toEqual({ ui: { resourceUri: CARD_URI }, 'ui/resourceUri': CARD_URI });
      else expect(meta.find_user).toBeUndefined();
      expect(meta.unlock_user).toEqual({ kept: true });
    }
  });

  it('declares it per request to 2026-07-28 clients served over HTTP, which carry their capabilities in every request', async () => {
    const handler = createMcpHandler(linkedServer);
    open.push(handler);
    for (const capabilities of [UI_CAPABILITIES, undefined]) {
      const client = new Client({ name: 'c', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } }, ...(capabilities ? { capabilities } : {}) });
      await client.connect(new StreamableHTTPClientTransport(new URL('http://localhost/mcp'), { fetch: (url, init) => handler.fetch(new Request(url, init)) }));
      open.push(client);
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      const meta = await listedMeta(client);
      expect(meta.find_user).toEqual(capabilities ? { ui: { resourceUri: CARD_URI }, 'ui/resourceUri': CARD_URI } : undefined);
    }
  });

  it('gives every server the same getter, which closes over no server', () => {
    // A getter made per server (a closure over it) keeps each per-request server of the HTTP
    // listener, and all it holds, alive through every young-generation collection.
    const answer = () => ({ content: [{ type: 'text' as const, text: 'ok' }] });
    const linked = [1, 2].map(() => {
      const server = new McpServer({ name: 'link-test', version: '1' }, { capabilities: { tools: {} } });
      const registered = server.registerTool('find_user', { description: 'lookup', inputSchema: z.object({}) }, answer);
      linkCard(server, 'find_user', registered);
      return Object.getOwnPropertyDescriptor(registered, '_meta');
    });
    expect(linked[0]?.get).toBeTypeOf('function');
    expect(linked[0]?.get).toBe(linked[1]?.get);
    expect(linked[0]?.set).toBe(linked[1]?.set);
  });

  // A limit of the SDK today, pinned so that the README's note is revisited when it changes:
  // on stdio a 2026-07-28 connection never initializes, and the SDK does not seed the server
  // with the capabilities each request carries, so such a host gets the text only.
  it('does not declare it on a 2026-07-28 stdio connection (the SDK does not expose its capabilities there)', async () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    open.push(serveStdio(linkedServer, { transport: serverSide }));
    const client = new Client({ name: 'c', version: '1' }, { capabilities: UI_CAPABILITIES, versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(clientSide);
    open.push(client);
    expect((await listedMeta(client)).find_user).toBeUndefined();
  });
});
