import type { ConfirmationLedger, ReserveResult, WriteLimiter, WriteReservation } from '../store.js';

/**
 * The in-process stores: one replica's limits and confirmation ledger, kept in
 * memory (the default). Everything a call decides here happens synchronously
 * inside one turn of the event loop, so check-and-take is atomic.
 */

export interface WriteLimits {
  /** Writes per rolling window for the whole server. */
  total: number;
  /** Writes per rolling window for one operator; undefined = only the total applies. */
  perOperator: number | undefined;
}

export class MemoryWriteLimiter implements WriteLimiter {
  private readonly slots: Array<{ at: number; operator: string }> = [];

  constructor(
    readonly limits: WriteLimits,
    private readonly now: () => number = Date.now,
    private readonly windowMs = 60_000,
  ) {}

  async reserve(operatorKey: string): Promise<ReserveResult> {
    const now = this.now();
    while (this.slots.length > 0 && this.slots[0]!.at <= now - this.windowMs) this.slots.shift();
    if (this.slots.length >= this.limits.total) {
      return { granted: false, limit: 'server', retryAfterMs: this.slots[0]!.at + this.windowMs - now };
    }
    const mine = this.slots.filter((slot) => slot.operator === operatorKey);
    if (this.limits.perOperator !== undefined && mine.length >= this.limits.perOperator) {
      return { granted: false, limit: 'operator', retryAfterMs: mine[0]!.at + this.windowMs - now };
    }
    const slot = { at: now, operator: operatorKey };
    this.slots.push(slot);
    return { granted: true, reservation: { release: async () => this.release(slot) } satisfies WriteReservation };
  }

  private release(slot: { at: number; operator: string }): void {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
  }
}

export class MemoryConfirmationLedger implements ConfirmationLedger {
  private readonly spent = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async spend(stateId: string, expiresAt: Date): Promise<boolean> {
    const now = this.now();
    for (const [id, expires] of this.spent) if (expires <= now) this.spent.delete(id);
    if (this.spent.has(stateId)) return false;
    this.spent.set(stateId, expiresAt.getTime());
    return true;
  }
}
