/**
 * A rolling one-second window, like PingOne's per-second license limits.
 * Only admitted requests count, so a client that honours Retry-After: 1
 * always gets through on its retry.
 */
export class RollingRateLimiter {
  private readonly admitted: number[] = [];

  constructor(private readonly perSecond: number) {
    if (!Number.isInteger(perSecond) || perSecond < 1) throw new RangeError('rateLimitPerSecond must be a positive integer');
  }

  /** True when the request may proceed; false when it must get a 429. */
  admit(nowMs: number): boolean {
    while (this.admitted.length > 0 && (this.admitted[0] ?? 0) <= nowMs - 1000) this.admitted.shift();
    if (this.admitted.length >= this.perSecond) return false;
    this.admitted.push(nowMs);
    return true;
  }
}
