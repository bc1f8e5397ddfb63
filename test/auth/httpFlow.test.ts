import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createResourceServer, type ResourceServer } from '../../src/auth/resourceServer.js';
import { startSandboxOAuth, type SandboxAuthorizationServer } from '../../src/sandbox/oauth/index.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { TestClientProvider } from './clientProvider.js';
import { TEST_POLICY as POLICY } from './testIssuer.js';

/**
 * The pieces wired the way the HTTP listener wires them, around a one-tool MCP
 * server: metadata first, then the bearer gate, then the SDK's handler with the
 * verified AuthInfo. The official client's Streamable HTTP transport must find
 * its way from the first 401 to a token on its own.
 */
let endpoint: Server;
let resource = '';
let authorizationServer: SandboxAuthorizationServer;
let rs: ResourceServer;

const handler = createMcpHandler(({ authInfo }) => {
  const server = new McpServer({ name: 'auth-flow-test', version: '1.0.0' });
  server.registerTool('whoami', { title: 'Who am I', description: 'The verified operator', inputSchema: z.object({}) }, () => {
    if (authInfo === undefined) throw new Error('no AuthInfo reached the handler');
    const operator = rs.operatorOf(authInfo);
    return { content: [{ type: 'text', text: JSON.stringify({ subject: operator.subject, displayName: operator.displayName, scopes: [...operator.scopes] }) }] };
  });
  return server;
});

async function toRequest(req: IncomingMessage): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
  const method = req.method ?? 'GET';
  return new Request(new URL(req.url ?? '/', resource), { method, headers, ...(method === 'GET' || method === 'HEAD' ? {} : { body: Buffer.concat(chunks) }) });
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body !== null) for await (const chunk of response.body) res.write(chunk);
  res.end();
}

beforeAll(async () => {
  endpoint = createServer((req, res) => {
    void (async () => {
      const request = await toRequest(req);
      const early = rs.metadataResponse(request);
      if (early !== undefined) return send(res, early);
      const auth = await rs.authenticate(request);
      return send(res, auth instanceof Response ? auth : await handler.fetch(request, { authInfo: auth }));
    })();
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  const listenerResource = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/mcp`;
  const started = await startSandboxOAuth({ kind: 'sandbox', policy: POLICY }, listenerResource);
  authorizationServer = started.authorizationServer;
  resource = started.settings.resource;
  rs = createResourceServer(started.settings);
});

afterAll(async () => {
  await authorizationServer.close();
  endpoint.closeAllConnections();
  await new Promise<void>((resolve) => endpoint.close(() => resolve()));
});

describe('the official client over Streamable HTTP against the resource server and the sandbox authorization server', () => {
  it('discovers the metadata from the 401, registers, authorizes with PKCE, and calls a tool as the verified operator', async () => {
    const provider = new TestClientProvider('ops1');
    const first = new Client({ name: 'auth-flow-client', version: '1.0.0' });
    await expect(first.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider }))).rejects.toBeInstanceOf(UnauthorizedError);
    const callback = provider.callback;
    if (callback === undefined) throw new Error('the client never went to the authorization endpoint');
    const code = callback.searchParams.get('code') ?? '';

    const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
    await transport.finishAuth(code, callback.searchParams.get('iss') ?? undefined);
    const client = new Client({ name: 'auth-flow-client', version: '1.0.0' });
    await client.connect(transport);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    const block = (result.content as Array<{ type: string; text: string }>)[0];
    expect(JSON.parse(block?.text ?? '{}')).toEqual({ subject: DEMO_USERS.ops1.id, displayName: 'ops1', scopes: ['helpdesk:read'] });
    await client.close();
  });
});
