import { readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../support/emulator.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { protocolViolations, spawnServer, tempAuditPath, tenantEnv, type Spawned } from './support/spawned.js';

/**
 * After a run of good and failing calls — expired tokens, 401s, a refusing
 * token endpoint, wrong credentials — neither the client secret nor any token
 * PingOne issued appears in stdout (results included), stderr at log level
 * trace with the audit trail mirrored there, or the audit trail itself.
 */

let emulator: TestEmulator | undefined;
const servers: Spawned[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.kill();
    await server.exited;
  }
  await emulator?.close();
  emulator = undefined;
});

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
  const e = (emulator = await startTestEmulator());
  const auditPath = tempAuditPath('p1mcp-secrets-');
  const server = spawnServer({ env: tenantEnv(e, auditPath, loud) });
  servers.push(server);
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
  ]);
  expect(results.map((r) => r.structuredContent?.error?.code)).toEqual([undefined, undefined, undefined, 'PINGONE_401', 'PINGONE_AUTH', 'PINGONE_500', undefined, 'PINGONE_BAD_RESPONSE']);
  expect(e.issuedTokens.length).toBeGreaterThanOrEqual(4);

  // A second run with the wrong secret: the refusal path.
  const wrongSecret = `wrong-${e.clientSecret.slice(0, 6)}-secret-value`;
  const wrongServer = spawnServer({ env: tenantEnv(e, auditPath, { ...loud, PINGONE_CLIENT_SECRET: wrongSecret }) });
  servers.push(wrongServer);
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
  // Trace level really was on, with the audit trail mirrored to stderr.
  expect(haystacks.stderr).toMatch(/"msg":"audit record"/);
  expect(protocolViolations(server.stdoutLines())).toEqual([]);
  expect(protocolViolations(wrongServer.stdoutLines())).toEqual([]);
});
