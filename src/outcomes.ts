/**
 * How a tool call ended: one vocabulary for results, their schemas and the
 * audit trail. Successes are per tool; the failures are shared by all.
 */
export const SUCCESS_OUTCOMES = ['unlocked', 'not_locked', 'unblocked', 'not_blocked', 'found', 'listed', 'dry_run'] as const;
export const FAILURE_OUTCOMES = ['failed', 'invalid_input', 'denied', 'interrupted'] as const;
export const OUTCOMES = [...SUCCESS_OUTCOMES, ...FAILURE_OUTCOMES] as const;

export type SuccessOutcome = (typeof SUCCESS_OUTCOMES)[number];
export type FailureOutcome = (typeof FAILURE_OUTCOMES)[number];
export type Outcome = (typeof OUTCOMES)[number];
