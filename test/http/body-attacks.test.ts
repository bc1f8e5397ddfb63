import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { httpHarnessPerTest } from './support.js';

/**
 * The listener reads and parses every MCP POST body itself before the SDK
 * sees it (listener.ts). Bodies that are odd but harmless must get the answer
 * the SDK gave them, and clients that leave early must leave nothing behind.
 */
const start = httpHarnessPerTest();

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
};
/** A stateless 2026-07-28 request, with the headers that repeat its method. */
function modern(method: string, params: Record<string, unknown> = {}): { headers: Record<string, string>; body: string } {
  return {
    headers: { ...MCP_HEADERS, 'mcp-protocol-version': '2026-07-28', 'mcp-method': method },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method, params: { ...params, _meta: ENVELOPE } }),
  };
}

/** The JSON of a plain or an SSE answer (the first message of the stream). */
async function messageOf(response: Response): Promise<Record<string, any>> {
  const text = await response.text();
  const data = /^data: (.*)$/m.exec(text);
  return JSON.parse(data ? data[1]! : text) as Record<string, any>;
}

describe('bodies the listener parses', () => {
  it('accepts a body that starts with a UTF-8 byte order mark, in either era, as the SDK did', async () => {
    const harness = await start();
    const bom = '\uFEFF';
    const list = modern('tools/list');
    const listed = await fetch(harness.url, { method: 'POST', headers: list.headers, body: bom + list.body });
    expect(listed.status).toBe(200);
    expect((await messageOf(listed)).result.tools.length).toBeGreaterThan(0);
    const initialized = await fetch(harness.url, { method: 'POST', headers: MCP_HEADERS, body: bom + JSON.stringify(INITIALIZE) });
    expect(initialized.status).toBe(200);
    expect(initialized.headers.get('mcp-session-id')).toBeTruthy();
    expect((await messageOf(initialized)).result.protocolVersion).toBe('2025-06-18');
  });

  it('refuses a body nested thousands of levels deep with a clear 400, not an internal error, and serves on', async () => {
    const harness = await start();
    // Written as text: building it as a value and serializing it would overflow this test's own stack.
    const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    const withExtra = (message: string, extra: string) => message.replace(/}$/, `,"extra":${extra}}`);
    const list = modern('tools/list');
    const response = await fetch(harness.url, { method: 'POST', headers: list.headers, body: list.body.replace('"params":{', `"params":{"extra":${deep(10_000)},`) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600, message: expect.stringMatching(/nest/) }, id: null });
    // As deep as any real message goes, and then some: still served.
    expect((await fetch(harness.url, { method: 'POST', headers: list.headers, body: list.body.replace('"params":{', `"params":{"extra":${deep(50)},`) })).status).toBe(200);
    // Brackets inside strings (escaped quotes too) are text, not nesting.
    const bracketsInText = JSON.stringify('\\"['.repeat(500) + '{"'.repeat(500));
    expect((await fetch(harness.url, { method: 'POST', headers: list.headers, body: list.body.replace('"params":{', `"params":{"extra":${bracketsInText},`) })).status).toBe(200);
    const session = await fetch(harness.url, { method: 'POST', headers: MCP_HEADERS, body: withExtra(JSON.stringify(INITIALIZE), deep(10_000)) });
    expect(session.status).toBe(400);
    expect(harness.service.sessionCount).toBe(0);
  });
});

describe('bodies the listener must not read', () => {
  it('answers 415 to a body of another media type before reading it, as the SDK did', async () => {
    const harness = await start();
    for (const body of ['not json at all', JSON.stringify(INITIALIZE)]) {
      const response = await fetch(harness.url, { method: 'POST', headers: { ...MCP_HEADERS, 'content-type': 'text/plain' }, body });
      expect(response.status).toBe(415);
      expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringMatching(/Content-Type/) }, id: null });
    }
    expect(harness.service.sessionCount).toBe(0);
  });

  it('reads no more than the body limit from a caller without a token, once refused, however long its body', async () => {
    const harness = await start({ oauth: {} });
    const limit = 64 * 1024 * 1024;
    const sent = await new Promise<number>((resolve) => {
      const socket = rawSocket(harness.url);
      let sent = 0;
      socket.on('close', () => resolve(sent));
      socket.write(`POST ${harness.url.pathname} HTTP/1.1\r\nhost: ${harness.url.host}\r\n${RAW_HEADERS}transfer-encoding: chunked\r\n\r\n`);
      const chunk = `10000\r\n${'x'.repeat(0x10000)}\r\n`;
      const pump = () => {
        while (!socket.destroyed && sent < limit) {
          sent += 0x10000;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
        socket.destroy();
      };
      pump();
    });
    expect(sent).toBeLessThan(limit);
    expect((await fetch(harness.url, { method: 'POST', headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) })).status).toBe(401);
  });

  it('still reads the rest of a refused body within the limit, so the refusal arrives and the connection serves on', async () => {
    const harness = await start({ oauth: {} });
    const socket = rawSocket(harness.url);
    let answers = '';
    socket.on('data', (data: Buffer) => (answers += data.toString('latin1')));
    const body = JSON.stringify({ ...INITIALIZE, padding: 'x'.repeat(256 * 1024) });
    socket.write(`POST ${harness.url.pathname} HTTP/1.1\r\nhost: ${harness.url.host}\r\n${RAW_HEADERS}content-length: ${body.length}\r\n\r\n`);
    // Refused on its headers, before the body is sent.
    await until(() => answers.includes('\r\n\r\n'));
    expect(answers).toMatch(/^HTTP\/1\.1 401 /);
    socket.write(body);
    socket.write(`GET /healthz HTTP/1.1\r\nhost: ${harness.url.host}\r\n\r\n`);
    await until(() => answers.includes('\r\nok\n') || socket.destroyed);
    expect(answers).toMatch(/HTTP\/1\.1 200 OK[\s\S]*\r\nok\n/);
    socket.destroy();
  });

  it('answers 503 to a body past what its caller or all callers may hold, serves others meanwhile, and frees the room when the holders leave', async () => {
    const harness = await start({ oauth: {}, bodyBytesInFlight: { total: 3 * 1024 * 1024, perCaller: 2 * 1024 * 1024 } });
    const attacker = await harness.oauth!.token({ subject: DEMO_USERS.ops1.id });
    const colleague = await harness.oauth!.token({ subject: DEMO_USERS.bsmith.id });
    const part = 900 * 1024;
    // Bodies announced at almost the limit, sent all but their end, then never finished.
    const hold = async (token: string, kept = true): Promise<{ socket: Socket; answer: () => string }> => {
      const before = harness.service.bodyBytesHeld;
      const socket = rawSocket(harness.url);
      let answer = '';
      socket.on('data', (data: Buffer) => (answer += data.toString('latin1')));
      socket.write(`POST ${harness.url.pathname} HTTP/1.1\r\nhost: ${harness.url.host}\r\nauthorization: Bearer ${token}\r\n${RAW_HEADERS}content-length: ${1000 * 1024}\r\n\r\n`);
      await new Promise<void>((resolve) => socket.write(`{"padding":"${'x'.repeat(part)}`, () => resolve()));
      // Until the listener has read it all: the next body must find this one held.
      if (kept) await until(() => harness.service.bodyBytesHeld >= before + part);
      return { socket, answer: () => answer };
    };
    const refused = async (held: { answer: () => string }) => {
      await until(() => held.answer().includes('\r\n\r\n'));
      expect(held.answer()).toMatch(/^HTTP\/1\.1 503 /);
      expect(held.answer().toLowerCase()).toContain('retry-after: 1');
    };
    const post = async (token: string, params: Record<string, unknown> = {}) => {
      const request = modern('tools/list', params);
      return (await fetch(harness.url, { method: 'POST', headers: { ...request.headers, authorization: `Bearer ${token}` }, body: request.body })).status;
    };
    const holders = [await hold(attacker), await hold(attacker)];
    // The attacker's third is past its share; the colleague still has room for one.
    const third = await hold(attacker, false);
    await refused(third);
    expect(await post(colleague, { padding: 'x'.repeat(part) })).toBe(200);
    holders.push(await hold(colleague));
    // Now all callers together hold all there is: a body of any size but a small one finds no room.
    const fourth = await hold(colleague, false);
    await refused(fourth);
    expect(holders.map((held) => held.answer())).toEqual(['', '', '']);
    expect(await post(colleague)).toBe(200);
    for (const held of [...holders, third, fourth]) held.socket.destroy();
    await until(() => harness.service.bodyBytesHeld === 0);
    await until(async () => (await post(attacker, { padding: 'x'.repeat(part) })) === 200);
  });
});

const RAW_HEADERS = 'content-type: application/json\r\naccept: application/json, text/event-stream\r\n';

function rawSocket(url: URL): Socket {
  const socket = connect(Number(url.port), url.hostname);
  socket.on('error', () => {});
  return socket;
}

describe('clients that leave early', () => {
  it('a client that hangs up while its token is being checked is not counted as waiting for ever', async () => {
    const harness = await start({ oauth: {} });
    const { idp } = harness.oauth!;
    const token = await harness.oauth!.token();
    let release = () => {};
    idp.jwksHeld = new Promise((resolve) => (release = resolve));
    const { body, headers } = modern('tools/list');
    const head = Object.entries({ ...headers, host: harness.url.host, authorization: `Bearer ${token}`, 'content-length': String(Buffer.byteLength(body)) })
      .map(([name, value]) => `${name}: ${value}`)
      .join('\r\n');
    const socket = connect(Number(harness.url.port), harness.url.hostname);
    socket.on('error', () => {});
    socket.write(`POST ${harness.url.pathname} HTTP/1.1\r\n${head}\r\n\r\n${body}`);
    // The listener is checking the token (it fetches the issuer's keys): the client leaves now.
    await until(() => idp.requests.jwks > 0);
    socket.destroy();
    await until(async () => (await openConnections(harness.service.server)) === 0);
    idp.jwksHeld = undefined;
    release();
    // A request sent after the keys arrived is answered after the first one's check went on.
    const after = await fetch(harness.url, { method: 'POST', headers: { ...headers, authorization: `Bearer ${token}` }, body });
    expect(after.status).toBe(200);
    await after.text();
    expect(harness.service.pendingPosts).toBe(0);
    expect(harness.service.idle).toBe(true);
    expect(harness.metrics()).toMatch(/^pingone_mcp_http_requests_pending 0$/m);
  });
});

function openConnections(server: { getConnections(callback: (error: Error | null, count: number) => void): void }): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}
