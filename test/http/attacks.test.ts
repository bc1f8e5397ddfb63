import { describe, expect, it } from 'vitest';
import { MAX_SESSIONS_PER_OPERATOR } from '../../src/http/sessions.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { httpHarnessPerTest, rawRequest, READ_SCOPE, structuredOf, WRITE_SCOPE } from './support.js';

/**
 * Attacks on the HTTP surface by a caller holding a valid token: what one
 * operator does must not take the service away from the others.
 */
const start = httpHarnessPerTest();

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('one operator against the others', () => {
  it('a read-only token opening sessions in a loop cannot fill the session table and lock other operators out', async () => {
    const max = MAX_SESSIONS_PER_OPERATOR * 2;
    const harness = await start({ oauth: {}, env: { PINGONE_MCP_HTTP_MAX_SESSIONS: String(max) } });
    const initialize = async (token: string) => {
      const response = await fetch(harness.url, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: JSON.stringify(INITIALIZE) });
      await response.text();
      return response;
    };
    const attacker = await harness.oauth!.token({ subject: DEMO_USERS.ops1.id, claims: { client_id: 'app-0' } });
    const opened: string[] = [];
    // Registering more clients (a client_id per token) buys no more sessions.
    for (let i = 0; i < max + 5; i++) {
      const response = await initialize(i === max + 4 ? attacker : await harness.oauth!.token({ subject: DEMO_USERS.ops1.id, claims: { client_id: `app-${i % 7}` } }));
      expect(response.status).toBe(200);
      opened.push(response.headers.get('mcp-session-id') ?? '');
    }
    expect(harness.service.sessionCount).toBe(MAX_SESSIONS_PER_OPERATOR);
    expect(opened.at(-1)).not.toBe('');
    // The attacker's oldest sessions were closed to make room for its newest; its newest still works.
    const reuse = (id: string) =>
      fetch(harness.url, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${attacker}`, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      }).then(async (response) => (await response.text(), response.status));
    expect(await reuse(opened[0]!)).toBe(404);
    expect(await reuse(opened.at(-1)!)).toBe(200);
    const victim = await initialize(await harness.oauth!.token({ subject: DEMO_USERS.bsmith.id }));
    expect(victim.status).toBe(200);
  });
});

describe('odd requests from a signed-in caller', () => {
  it('a TRACE, PUT or PATCH to the MCP endpoint is refused 405, not answered 500', async () => {
    const harness = await start({ oauth: {} });
    const token = await harness.oauth!.token();
    for (const method of ['TRACE', 'PUT', 'PATCH']) {
      const response = await rawRequest(harness.url, { method, headers: { authorization: `Bearer ${token}` } });
      expect([method, response.status]).toEqual([method, 405]);
      expect(response.headers.allow).toBe('GET, POST, DELETE');
    }
    // Without a token the guard answers first: nothing about the endpoint is revealed.
    expect((await rawRequest(harness.url, { method: 'TRACE' })).status).toBe(401);
  });
});

describe('self-unlock with a token whose subject is not the managed user ID (another environment or OIDC issuer)', () => {
  it("is refused when the token's email or username names the target's email or username, in any case; a colleague still may", async () => {
    const harness = await start({ oauth: {}, env: { PINGONE_MCP_CONFIRM: 'never' } });
    const jdoe = DEMO_USERS.jdoe;
    const scope = `${READ_SCOPE} ${WRITE_SCOPE}`;
    for (const claims of [{ email: jdoe.email.toUpperCase() }, { preferred_username: 'JDoe' }, { preferred_username: jdoe.email }]) {
      const client = await harness.connect({ token: await harness.oauth!.token({ subject: 'workforce|00u1jane', scope, claims }) });
      const result = structuredOf(await client.callTool({ name: 'unlock_user', arguments: { user: jdoe.username, reason: 'INC-7' } }));
      expect([claims, result]).toMatchObject([claims, { outcome: 'denied', error: { code: 'SELF_CHANGE' } }]);
    }
    expect(harness.emulator.getUser(jdoe.id)?.account?.status).toBe('LOCKED');
    const colleague = await harness.connect({ token: await harness.oauth!.token({ subject: 'workforce|00u1bob', scope, claims: { email: 'bob.smith@example.com', preferred_username: 'bsmith' } }) });
    expect(structuredOf(await colleague.callTool({ name: 'unlock_user', arguments: { user: jdoe.username, reason: 'INC-7' } })).outcome).toBe('unlocked');
  });
});
