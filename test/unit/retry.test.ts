import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableNetworkCode,
  isRetryableStatus,
  nextDelay,
  parseRetryAfter,
  type RetryPolicy,
} from '../../src/pingone/retry.js';

// A whole second, so HTTP dates (second precision) compare exactly.
const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const POLICY: RetryPolicy = { maxAttempts: 3, baseBackoffMs: 250, maxBackoffMs: 4_000, maxRetryAfterMs: 30_000 };

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('1', NOW)).toBe(1_000);
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 5 ', NOW)).toBe(5_000);
    expect(parseRetryAfter('0', NOW)).toBe(0);
  });

  it('reads an HTTP date in the future as the time until it', () => {
    expect(parseRetryAfter(new Date(NOW + 10_000).toUTCString(), NOW)).toBe(10_000);
    expect(parseRetryAfter('Sun, 01 Jun 2025 12:01:00 GMT', NOW)).toBe(60_000);
  });

  it('reads an HTTP date in the past as 0', () => {
    expect(parseRetryAfter(new Date(NOW - 60_000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', NOW)).toBe(0);
  });

  it.each(['', '   ', 'soon', '-1', '1.5', '1e3', '5s', '0x10', 'Mon, not a date', '2025-06-01', 'Infinity'])('returns undefined for %j', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });

  it('returns undefined when absent', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter([], NOW)).toBeUndefined();
  });

  it('uses the first value of a repeated header', () => {
    expect(parseRetryAfter(['3', '7'], NOW)).toBe(3_000);
    expect(parseRetryAfter(['junk', '7'], NOW)).toBeUndefined();
  });
});

describe('backoffDelay (full jitter)', () => {
  it('is 0 when the random draw is 0', () => {
    expect(backoffDelay(1, POLICY, () => 0)).toBe(0);
    expect(backoffDelay(5, POLICY, () => 0)).toBe(0);
  });

  it('stays just under the ceiling base * 2^(retry-1) for a draw close to 1', () => {
    const almostOne = () => 0.999_999;
    expect(backoffDelay(1, POLICY, almostOne)).toBe(249);
    expect(backoffDelay(2, POLICY, almostOne)).toBe(499);
    expect(backoffDelay(3, POLICY, almostOne)).toBe(999);
  });

  it('caps the ceiling at maxBackoffMs', () => {
    const almostOne = () => 0.999_999;
    expect(backoffDelay(5, POLICY, almostOne)).toBe(3_999);
    expect(backoffDelay(30, POLICY, almostOne)).toBe(3_999);
  });

  it('is an integer in [0, min(max, base * 2^(retry-1))) for every draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        (retry, draw, base, max) => {
          const policy = { ...POLICY, baseBackoffMs: base, maxBackoffMs: max };
          const delay = backoffDelay(retry, policy, () => draw);
          const ceiling = Math.min(max, base * 2 ** (retry - 1));
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(ceiling);
        },
      ),
    );
  });
});

describe('nextDelay', () => {
  it('honours Retry-After, even 0, instead of backing off', () => {
    expect(nextDelay(1, 2_000, POLICY, () => 0.5)).toBe(2_000);
    expect(nextDelay(2, 0, POLICY, () => 0.999)).toBe(0);
  });

  it('caps Retry-After at maxRetryAfterMs', () => {
    expect(nextDelay(1, 3_600_000, POLICY, () => 0)).toBe(30_000);
    expect(nextDelay(1, 45_000, { ...POLICY, maxRetryAfterMs: 10_000 }, () => 0)).toBe(10_000);
  });

  it('backs off with jitter without Retry-After', () => {
    expect(nextDelay(3, undefined, POLICY, () => 0.5)).toBe(500);
  });

  it('under the default policy no single wait exceeds 30 s, like Ping’s SDK, whatever PingOne asks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.option(fc.integer({ min: 0, max: 1_000_000_000 }), { nil: undefined }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, retryAfterMs, draw) => {
          const delay = nextDelay(retry, retryAfterMs, DEFAULT_RETRY_POLICY, () => draw);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(30_000);
          // A reasonable Retry-After is honoured exactly.
          if (retryAfterMs !== undefined && retryAfterMs <= 30_000) expect(delay).toBe(retryAfterMs);
        },
      ),
    );
  });

  it('under the default policy the backoff grows with each retry, then levels off', () => {
    const delays = Array.from({ length: 12 }, (_, i) => nextDelay(i + 1, undefined, DEFAULT_RETRY_POLICY, () => 0.999_999));
    expect(delays[1]).toBeGreaterThan(delays[0] ?? Infinity);
    expect(delays[2]).toBeGreaterThan(delays[1] ?? Infinity);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1] ?? Infinity);
    expect(delays.at(-1)).toBe(delays.at(-2));
  });
});

describe('retryable', () => {
  it.each([408, 429, 500, 502, 503, 504])('status %i is retried', (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });

  it.each([200, 204, 400, 401, 403, 404, 409, 415, 422, 501, 505])('status %i is not retried', (status) => {
    expect(isRetryableStatus(status)).toBe(false);
  });

  it('retries connection failures but not DNS names that do not exist', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']) expect(isRetryableNetworkCode(code)).toBe(true);
    for (const code of ['ENOTFOUND', 'CERT_HAS_EXPIRED', 'UNKNOWN_NETWORK_ERROR']) expect(isRetryableNetworkCode(code)).toBe(false);
  });
});
