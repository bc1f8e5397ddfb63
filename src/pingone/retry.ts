/**
 * When to try a PingOne request again, and how long to wait first.
 * Ping's guidance: retry 408, 429 (honouring Retry-After), 500, 502, 503 and
 * 504 with exponential backoff and jitter. Every write of this server (the
 * account unlock and the device unblock and unlock) is idempotent in effect:
 * repeating it leaves the same state, so retrying a POST is safe.
 */
export interface RetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** Backoff before retry n is uniform in [0, min(maxBackoffMs, baseBackoffMs * 2^(n-1))] ("full jitter"). */
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** The longest Retry-After we honour; longer asks are cut to this. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseBackoffMs: 250,
  maxBackoffMs: 4_000,
  maxRetryAfterMs: 30_000,
};

const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Network failures worth another attempt: the request may not have reached PingOne at all. */
const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

export function isRetryableNetworkCode(code: string): boolean {
  return RETRYABLE_NETWORK_CODES.has(code);
}

/**
 * Parses a Retry-After header: delta-seconds or an HTTP date. Returns the wait
 * in ms (0 for a date in the past), or undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date always names a weekday and a time; this keeps Date.parse from
  // accepting bare numbers or other loose forms.
  if (!/^[A-Za-z]{3},? /.test(text) && !/GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Full-jitter exponential backoff before retry number `retry` (1 = the first retry). */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.baseBackoffMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

/** The wait before the next attempt: Retry-After when PingOne gave one (capped), else backoff. */
export function nextDelay(
  retry: number,
  retryAfterMs: number | undefined,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  return backoffDelay(retry, policy, random);
}
