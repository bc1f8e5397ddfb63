import { request as httpRequest, type ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { httpHarnessPerTest, rawRequest, type HttpHarness } from './support.js';

/**
 * Attacks on the node:http ↔ web Request/Response exchange (src/http/webExchange.ts)
 * through the real listener, by a caller holding a valid token.
 */
const start = httpHarnessPerTest();

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function openSession(harness: HttpHarness, token: string): Promise<string> {
  const response = await fetch(harness.url, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: JSON.stringify(INITIALIZE) });
  await response.text();
  expect(response.status).toBe(200);
  return response.headers.get('mcp-session-id') ?? '';
}

/** A GET for the session's event stream on a connection of its own: its status, and the request to cut it with. */
function getStream(harness: HttpHarness, headers: Record<string, string>): Promise<{ status: number; request: ClientRequest }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(harness.url, { method: 'GET', headers, agent: false }, (res) => resolve({ status: res.statusCode ?? 0, request }));
    request.on('error', reject);
    request.end();
  });
}

describe('event streams', () => {
  it("a 2025 session's GET stream is let go as soon as its client leaves: the client may open it again at once", async () => {
    const harness = await start({ oauth: {} });
    const token = await harness.oauth!.token();
    const session = await openSession(harness, token);
    const headers = { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
    const serverSide = new Promise<Socket>((resolve) => harness.service.server.once('connection', resolve));
    const first = await getStream(harness, headers);
    expect(first.status).toBe(200);
    const socket = await serverSide;
    const closed = new Promise((resolve) => socket.once('close', resolve));
    first.request.destroy();
    await closed;
    await new Promise((resolve) => setImmediate(resolve));
    // The SDK allows one GET stream per session: one still held for the departed client is a 409 Conflict
    // until the next keep-alive (15 s) happens to fail to be written.
    const again = await getStream(harness, headers);
    again.request.destroy();
    expect(again.status).toBe(200);
  });
});

describe('the Host header', () => {
  it('a Host with user information, which passes the Host check, is served, not answered 500', async () => {
    const harness = await start({ oauth: {} });
    const token = await harness.oauth!.token();
    for (const host of [`operator@127.0.0.1:${harness.url.port}`, `a:b@localhost:${harness.url.port}`]) {
      const response = await rawRequest(harness.url, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, host }, body: JSON.stringify(INITIALIZE) });
      expect([host, response.status]).toEqual([host, 200]);
      expect(response.headers['mcp-session-id']).toBeTruthy();
    }
  });

  it('behind a trusted proxy, where the Host itself is not checked, a Host no URL can carry is served too', async () => {
    const harness = await start({ oauth: {}, env: { PINGONE_MCP_TRUST_PROXY: 'true' } });
    const token = await harness.oauth!.token();
    for (const host of ['[', 'a b', 'x/y@z']) {
      const headers = { ...MCP_HEADERS, authorization: `Bearer ${token}`, host, 'x-forwarded-host': `127.0.0.1:${harness.url.port}` };
      const response = await rawRequest(harness.url, { method: 'POST', headers, body: JSON.stringify(INITIALIZE) });
      expect([host, response.status]).toEqual([host, 200]);
    }
  });
});
