import { describe, expect, it } from 'vitest';
import { CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, isLegacyRequest, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import { surelyModern } from '../../src/http/era.js';

// surelyModern lets the listener skip the SDK's classification; it must never call a request
// modern that the SDK would route to the 2025-era sessions. Checked against the SDK itself.

const envelope = (version: string) => ({ [PROTOCOL_VERSION_META_KEY]: version, [CLIENT_INFO_META_KEY]: { name: 'c', version: '1' }, [CLIENT_CAPABILITIES_META_KEY]: {} });

const BODIES: Record<string, unknown> = {
  'modern tools/call': { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'find_user', arguments: { query: 'jdoe' }, _meta: envelope('2026-07-28') } },
  'tools/call without envelope': { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'find_user', arguments: {} } },
  'tools/call claiming 2025': { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'find_user', _meta: envelope('2025-11-25') } },
  'tools/call with a bad envelope': { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { [PROTOCOL_VERSION_META_KEY]: 7 } } },
  initialize: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } } },
  'initialize with envelope': { jsonrpc: '2.0', id: 1, method: 'initialize', params: { _meta: envelope('2026-07-28') } },
  notification: { jsonrpc: '2.0', method: 'notifications/initialized' },
  'notification with envelope': { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, _meta: envelope('2026-07-28') } },
  'result response': { jsonrpc: '2.0', id: 1, result: {} },
  'error response': { jsonrpc: '2.0', id: 1, error: { code: -1, message: 'no' } },
  'method and result': { jsonrpc: '2.0', id: 1, method: 'tools/list', result: {} },
  'method and error': { jsonrpc: '2.0', id: 1, method: 'tools/list', error: { code: -1, message: 'no' } },
  batch: [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }],
  'modern batch': [{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope('2026-07-28') } }],
  'empty batch': [],
  'no jsonrpc': { id: 1, method: 'tools/list' },
  'method not a string': { jsonrpc: '2.0', id: 1, method: 5 },
  'empty object': {},
  string: 'tools/list',
  number: 42,
  null: null,
};

// The last two are what node:http makes of a header sent twice: its values joined.
const VERSION_HEADERS = [undefined, '2025-06-18', '2025-11-25', '2026-07-28', ' 2026-07-28\t', '2099-12-31', 'zzz', '1', '', '2026-07-28, 2025-06-18', '2025-06-18, 2026-07-28'];
const METHOD_HEADERS = [undefined, 'tools/call', 'tools/list', 'tools/call, tools/call'];

function request(version: string | undefined, method: string | undefined, httpMethod = 'POST'): Request {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (version !== undefined) headers['mcp-protocol-version'] = version;
  if (method !== undefined) headers['mcp-method'] = method;
  return new Request('http://127.0.0.1/mcp', { method: httpMethod, headers });
}

describe('surelyModern', () => {
  it('never calls modern a request the SDK routes to the 2025-era sessions', async () => {
    let modern = 0;
    for (const [name, body] of Object.entries(BODIES)) {
      for (const version of VERSION_HEADERS) {
        for (const method of METHOD_HEADERS) {
          const req = request(version, method);
          if (!surelyModern(req, body)) continue;
          modern++;
          expect(await isLegacyRequest(req, body), `${name}, MCP-Protocol-Version ${String(version)}, Mcp-Method ${String(method)}`).toBe(false);
        }
      }
    }
    expect(modern).toBeGreaterThan(20);
  });

  it('is true for a 2026-07-28 tools/call as the SDK client sends it', async () => {
    const req = request('2026-07-28', 'tools/call');
    expect(surelyModern(req, BODIES['modern tools/call'])).toBe(true);
    expect(await isLegacyRequest(req, BODIES['modern tools/call'])).toBe(false);
  });

  it('leaves 2025-era requests, posted responses, batches and other methods to the SDK', () => {
    expect(surelyModern(request('2025-11-25', undefined), BODIES.initialize)).toBe(false);
    expect(surelyModern(request(undefined, undefined), BODIES['modern tools/call'])).toBe(false);
    expect(surelyModern(request('2026-07-28', undefined), BODIES['result response'])).toBe(false);
    expect(surelyModern(request('2026-07-28', undefined), BODIES['method and result'])).toBe(false);
    expect(surelyModern(request('2026-07-28', undefined), BODIES['modern batch'])).toBe(false);
    expect(surelyModern(request('2026-07-28', undefined, 'GET'), undefined)).toBe(false);
    expect(surelyModern(request('2026-07-28', undefined, 'DELETE'), BODIES['modern tools/call'])).toBe(false);
  });
});
