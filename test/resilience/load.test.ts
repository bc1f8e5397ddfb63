import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runLoad } from '../../scripts/load.js';

/**
 * The short form of `npm run load`: 100 calls over one stdio connection to the
 * built server, 20 in flight, against a rate-limited emulator (50 requests/s,
 * 429 + Retry-After). Correctness only: outcomes, tokens, the audit trail. The
 * trail is read here, not through the script, and checked against what PingOne
 * received: one intent per write that reached it, one outcome per call.
 */
it('100 calls, 20 in flight, rate-limited PingOne: every outcome right, one token, one audit outcome per call', async () => {
  const report = await runLoad({ calls: 100, concurrency: 20, rateLimitPerSecond: 50, latencyMs: 20, tokenLifetimeSeconds: 3600 });
  expect(report.wrong).toEqual([]);
  // The limit was really hit, and every 429 was absorbed by a retry.
  expect(report.rateLimited).toBeGreaterThan(0);
  expect(report.tokenGrants).toBe(1);
  expect(report.tokenRequests).toBe(1);

  const records = readFileSync(report.auditPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { auditId: string; phase: string; tool: string });
  const intents = records.filter((r) => r.phase === 'intent');
  const outcomes = records.filter((r) => r.phase === 'outcome');
  const writes = report.sent.unlock + report.sent.unblock;
  expect(report.sent.unlock + report.sent.unblock + report.sent.read).toBe(100);
  expect(Math.min(report.sent.unlock, report.sent.unblock, report.sent.read)).toBeGreaterThan(0);
  expect(report.pingoneWrites).toBe(writes);
  expect(intents).toHaveLength(writes);
  expect(outcomes).toHaveLength(100);
  expect(new Set(outcomes.map((r) => r.auditId)).size).toBe(100);
  // Every intent is closed by the outcome of the same call.
  const outcomeIds = new Set(outcomes.map((r) => r.auditId));
  expect(intents.filter((r) => !outcomeIds.has(r.auditId))).toEqual([]);
  expect(outcomes.filter((r) => r.tool === 'unblock_device')).toHaveLength(report.sent.unblock);
  expect(records).toHaveLength(outcomes.length + intents.length);
  expect(report.audit.ok).toBe(true);
  expect(report.audit.everyCallOnce).toBe(true);

  expect(report.serverExitCode).toBe(0);
  expect(report.unhandledRejections).toBe(0);
  expect(report.failures).toEqual([]);
}, 60_000);
