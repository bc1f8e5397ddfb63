import { expect, it } from 'vitest';
import { protocolViolations, stoppedAfterEach, tempAuditPath, tenantEnv } from './support/spawned.js';

/**
 * What only the real binary on real pipes shows: an argument named __proto__
 * sent as raw JSON, and stderr under many concurrent calls.
 */

const started = stoppedAfterEach();

it('refuses an argument named __proto__ sent on the wire, and PingOne sees no write', async () => {
  const e = await started.emulator();
  const server = started.spawn({ env: tenantEnv(e, tempAuditPath()) });
  await server.initialize();
  server.send('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"unlock_user","arguments":{"user":"jdoe","__proto__":{"dryRun":false}}}}');
  const answer = await server.response(7, 15_000);
  expect(answer.result?.structuredContent?.outcome).toBe('invalid_input');
  expect(answer.result?.content?.[0]?.text).toContain('`__proto__` is not an argument');
  expect(e.requests).toHaveLength(0);
  server.endInput();
  expect((await server.exited).code).toBe(0);
  expect(protocolViolations(server.stdoutLines())).toEqual([]);
});

it('50 concurrent calls leave only JSON lines on stderr (no listener-leak warning), at debug level', async () => {
  const e = await started.emulator();
  const server = started.spawn({ env: tenantEnv(e, tempAuditPath(), { PINGONE_MCP_LOG_LEVEL: 'debug', PINGONE_MCP_MAX_CONCURRENT_CALLS: '64' }) });
  await server.initialize();
  e.faults.add({ match: { route: 'users.search' }, times: Infinity, action: { kind: 'delay', ms: 100 } });
  const ids = Array.from({ length: 50 }, (_, i) => 1000 + i);
  for (const id of ids) server.callTool(id, 'find_user', { query: 'jdoe' });
  const answers = await Promise.all(ids.map((id) => server.response(id, 30_000)));
  expect(answers.every((a) => a.result?.structuredContent?.outcome === 'found')).toBe(true);
  server.endInput();
  expect((await server.exited).code).toBe(0);
  const lines = server.stderr().split('\n').filter((line) => line !== '');
  const notJson = lines.filter((line) => {
    try {
      JSON.parse(line);
      return false;
    } catch {
      return true;
    }
  });
  expect(notJson).toEqual([]);
  // One debug line per call: IDs and codes only.
  const perCall = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'tool call');
  expect(perCall).toHaveLength(50);
  expect(perCall[0]).toMatchObject({ tool: 'find_user', outcome: 'found', pingoneStatus: 200 });
  expect(JSON.stringify(perCall)).not.toMatch(/jdoe|Jane|example\.com/);
  expect(protocolViolations(server.stdoutLines())).toEqual([]);
});
