import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { protocolViolations, stoppedAfterEach, tempAuditPath, tenantEnv, type Spawned } from './support/spawned.js';

/**
 * After a run of good and failing calls — expired tokens, 401s, a refusing
 * token endpoint, wrong credentials — neither the client secret nor any token
 * PingOne issued appears in stdout (results included), stderr at log level
 * trace with the audit trail mirrored there, or the audit trail itself.
 */

const started = stoppedAfterEach();

const loud = { PINGONE_MCP_LOG_LEVEL: 'trace', PINGONE_MCP_AUDIT_STDERR: 'true', PINGONE_MCP_MAX_WRITES_PER_MINUTE: '1000' };

function basic(clientId: string, secret: string): string {
  const form = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  return Buffer.from(`${form(clientId)}:${form(secret)}`).toString('base64');
}

async function run(server: Spawned, calls: Array<{ before?: () => void; tool: string; args: Record<string, unknown> }>): Promise<Array<Record<string, any>>> {
  await server.initialize();
  const results: Array<Record<string, any>> = [];
  let id = 100;
  for (const call of calls) {
    call.before?.();
    server.callTool(++id, call.tool, call.args);
    const answer = await server.response(id, 15_000);
    results.push(answer.result ?? { error: answer.error });
  }
  server.endInput();
  expect((await server.exited).code).toBe(0);
  return results;
}

it('no secret or token in stdout, stderr (trace), results or the audit trail', async () => {
  const e = await started.emulator();
  const auditPath = tempAuditPath('p1mcp-secrets-');
  const server = started.spawn({ env: tenantEnv(e, auditPath, loud) });
  const results = await run(server, [
    { tool: 'unlock_user', args: { user: 'jdoe', reason: 'INC-s1' } },
    { tool: 'find_user', args: { query: 'Jane' } },
    // The token expired: a 401, a fresh token, success.
    { before: () => e.expireTokens(), tool: 'unlock_user', args: { user: 'bsmith' } },
    // A 401 even with a fresh token.
    { before: () => e.faults.add({ match: { route: 'users.search' }, times: 2, action: { kind: 'status', status: 401 } }), tool: 'unlock_user', args: { user: 'bsmith' } },
    // The token endpoint refuses the credentials, then fails outright.
    {
      before: () => {
        e.expireTokens();
        e.faults.add({ match: { route: 'token' }, action: { kind: 'status', status: 401 } });
      },
      tool: 'list_user_devices',
      args: { user: 'jdoe' },
    },
    { before: () => e.faults.add({ match: { route: 'token' }, times: 3, action: { kind: 'status', status: 500 } }), tool: 'unlock_user', args: { user: 'jdoe' } },
    { tool: 'unblock_device', args: { user: 'jdoe', deviceId: DEMO_USERS.jdoe.blockedSmsDeviceId, reason: 'INC-s2' } },
    { before: () => e.faults.add({ match: { route: 'device.get' }, action: { kind: 'truncated' } }), tool: 'unblock_device', args: { user: 'jdoe', deviceId: DEMO_USERS.jdoe.totpDeviceId } },
    // A gateway that reflects the request: the secret as the OAuth error, the Basic header as the correlation id.
    {
      before: () => {
        e.expireTokens();
        const reflected = `Basic ${basic(e.clientId, e.clientSecret)}`;
        e.faults.add({ match: { route: 'token' }, action: { kind: 'status', status: 400, body: { error: e.clientSecret, error_description: reflected }, headers: { 'correlation-id': reflected } } });
      },
      tool: 'find_user',
      args: { query: 'jdoe' },
    },
    // An API answer that reflects the bearer token in every P1Error field and the Correlation-Id.
    {
      before: () => {
        const token = e.issuedTokens.at(-1) ?? 'none';
        e.faults.add({
          match: { route: 'users.search' },
          action: { kind: 'status', status: 400, body: { code: token, id: `Bearer ${token}`, message: token, details: [{ code: token, message: token }] }, headers: { 'correlation-id': `Bearer ${token}` } },
        });
      },
      tool: 'unlock_user',
      args: { user: 'bsmith' },
    },
  ]);
  // The run took the paths it was meant to take.
  expect(results.map((r) => r.structuredContent?.outcome ?? r.structuredContent?.error?.code)).toEqual([
    'unlocked',
    'found',
    'not_locked',
    'failed',
    'failed',
    'failed',
    'unblocked',
    'failed',
    'failed',
    'failed',
  ]);
  expect(results.map((r) => r.structuredContent?.error?.code)).toEqual([
    undefined,
    undefined,
    undefined,
    'PINGONE_401',
    'PINGONE_AUTH',
    'PINGONE_500',
    undefined,
    'PINGONE_BAD_RESPONSE',
    'PINGONE_AUTH',
    'PINGONE_400',
  ]);
  expect(e.issuedTokens.length).toBeGreaterThanOrEqual(4);

  // A second run with the wrong secret: the refusal path.
  const wrongSecret = `wrong-${e.clientSecret.slice(0, 6)}-secret-value`;
  const wrongServer = started.spawn({ env: tenantEnv(e, auditPath, { ...loud, PINGONE_CLIENT_SECRET: wrongSecret }) });
  const refused = await run(wrongServer, [{ tool: 'unlock_user', args: { user: 'jdoe' } }]);
  expect(refused[0]?.structuredContent?.error?.code).toBe('PINGONE_AUTH');

  const haystacks = {
    stdout: server.stdout() + wrongServer.stdout(),
    stderr: server.stderr() + wrongServer.stderr(),
    audit: readFileSync(auditPath, 'utf8'),
  };
  const needles = [e.clientSecret, basic(e.clientId, e.clientSecret), wrongSecret, basic(e.clientId, wrongSecret), ...e.issuedTokens];
  for (const [where, text] of Object.entries(haystacks)) {
    expect(text.length, where).toBeGreaterThan(0);
    for (const needle of needles) expect(text.includes(needle), `${where} contains a secret or token`).toBe(false);
  }
  // Trace level really was on (debug lines, which info would drop, are there), with the audit trail mirrored to stderr.
  const levels = new Set(haystacks.stderr.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { level: number }).level));
  expect(levels.has(20)).toBe(true);
  expect(haystacks.stderr).toMatch(/"msg":"tool call"/);
  // Every failed call left a warn line for the operator.
  const warned = haystacks.stderr.split('\n').filter((line) => line.includes('"msg":"tool call failed"'));
  expect(warned.length).toBe(results.filter((r) => r.structuredContent?.error !== undefined).length + refused.length);
  expect(warned.every((line) => (JSON.parse(line) as { level: number }).level === 40)).toBe(true);
  expect(haystacks.stderr).toMatch(/"msg":"audit record"/);
  expect(protocolViolations(server.stdoutLines())).toEqual([]);
  expect(protocolViolations(wrongServer.stdoutLines())).toEqual([]);
});
