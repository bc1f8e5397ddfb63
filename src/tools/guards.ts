import type { Guards } from '../config.js';
import { ToolError } from './errors.js';
import type { UserSummary } from './output.js';

/**
 * The checks a write must pass whatever the agent asks: who may be written,
 * and how often. Reads are never limited by them.
 */
export function checkTarget(guards: Guards, user: UserSummary): void {
  const names = [user.id, user.username].filter((name): name is string => name !== undefined).map((name) => name.toLowerCase());
  if (names.some((name) => guards.protectedUsers.has(name))) {
    throw new ToolError('PROTECTED_USER', `${user.username ?? user.id} is a protected account (PINGONE_MCP_PROTECTED_USERS): this server never changes it. A PingOne administrator must handle it directly.`);
  }
  if (guards.allowedPopulations !== undefined) {
    const population = user.populationId?.toLowerCase();
    if (population === undefined || !guards.allowedPopulations.has(population)) {
      throw new ToolError('POPULATION_NOT_ALLOWED', `${user.username ?? user.id} is in population ${user.populationId ?? '(none)'}, which this server may not change (PINGONE_MCP_ALLOWED_POPULATIONS). Hand the ticket to a PingOne administrator.`);
    }
  }
}

/**
 * At most `limit` writes in any 60-second window, for the whole process: a
 * runaway or prompt-injected agent cannot unlock accounts in bulk.
 */
export class WriteRateLimiter {
  private readonly writes: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly now: () => number = Date.now,
    private readonly windowMs = 60_000,
  ) {}

  /** Throws WRITE_RATE_LIMITED when a write now would exceed the limit; takes nothing. */
  check(): void {
    const wait = this.waitMs();
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      throw new ToolError('WRITE_RATE_LIMITED', `This server allows at most ${this.limit} writes per minute (PINGONE_MCP_MAX_WRITES_PER_MINUTE) and that limit is reached: try again in ${seconds} s. Nothing was changed.`, { retryAfterSeconds: seconds });
    }
  }

  /** Records one write; call right before sending it. */
  take(): void {
    this.check();
    this.writes.push(this.now());
  }

  private waitMs(): number {
    const now = this.now();
    while (this.writes.length > 0 && this.writes[0]! <= now - this.windowMs) this.writes.shift();
    if (this.writes.length < this.limit) return 0;
    return this.writes[0]! + this.windowMs - now;
  }
}
