/**
 * The shared state a write depends on, behind interfaces chosen once at
 * composition: in-process (one replica, the default) or PostgreSQL (several
 * replicas). The audit trail's contract is `AuditSink` in `audit/record.ts`.
 */

/** A write slot taken by a call; given back when the write is not sent after all. */
export interface WriteReservation {
  /** Gives the slot back (the write was refused before it was sent). Idempotent. */
  release(): Promise<void>;
}

export type ReserveResult =
  | { readonly granted: true; readonly reservation: WriteReservation }
  | { readonly granted: false; readonly limit: 'server' | 'operator'; readonly retryAfterMs: number };

/**
 * Sliding-window write limits, in total and per operator, decided atomically:
 * a slot is taken when the check passes, so concurrent calls can never
 * exceed the limit between checking and writing.
 */
export interface WriteLimiter {
  reserve(operatorKey: string): Promise<ReserveResult>;
}

/**
 * Sealed confirmation states that have been answered. A state is spent by
 * its first answer, whatever the answer was: it can never be replayed.
 */
export interface ConfirmationLedger {
  /** True the first time `stateId` is spent; false for every later attempt. `expiresAt` bounds how long it is kept. */
  spend(stateId: string, expiresAt: Date): Promise<boolean>;
}
