import { expect, it } from 'vitest';
import { runLoad } from '../../scripts/load.js';

/**
 * The short form of `npm run load`: 100 calls over one stdio connection to the
 * built server, 20 in flight, against a rate-limited emulator (50 requests/s,
 * 429 + Retry-After). Correctness only: outcomes, tokens, the audit trail.
 */
it('100 calls, 20 in flight, rate-limited PingOne: every outcome right, one token, one audit outcome per call', async () => {
  const report = await runLoad({ calls: 100, concurrency: 20, rateLimitPerSecond: 50, latencyMs: 20, tokenLifetimeSeconds: 3600 });
  expect(report.wrong).toEqual([]);
  // The limit was really hit, and every 429 was absorbed by a retry.
  expect(report.rateLimited).toBeGreaterThan(0);
  expect(report.tokenGrants).toBe(1);
  expect(report.tokenRequests).toBe(1);
  expect(report.audit).toEqual({ ok: true, records: 170, outcomes: 100, intents: 70, everyCallOnce: true });
  expect(report.serverExitCode).toBe(0);
  expect(report.unhandledRejections).toBe(0);
  expect(report.failures).toEqual([]);
}, 60_000);
