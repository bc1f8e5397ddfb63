import type { AuditTarget } from '../audit/record.js';
import type { FailureOutcome } from '../outcomes.js';
import type { Responsible } from '../responsible.js';

/**
 * Our own refusals and dead ends, each with how it is recorded and who must
 * act: one table, from which the code union is derived.
 */
const TOOL_ERRORS = {
  INVALID_INPUT: { outcome: 'invalid_input', responsible: 'agent' },
  USER_NOT_FOUND: { outcome: 'failed', responsible: 'agent' },
  USER_AMBIGUOUS: { outcome: 'failed', responsible: 'agent' },
  DEVICE_NOT_FOUND: { outcome: 'failed', responsible: 'agent' },
  AUDIT_UNAVAILABLE: { outcome: 'failed', responsible: 'admin' },
  TOO_BUSY: { outcome: 'failed', responsible: 'agent' },
  PROTECTED_USER: { outcome: 'denied', responsible: 'admin' },
  POPULATION_NOT_ALLOWED: { outcome: 'denied', responsible: 'admin' },
  SELF_CHANGE: { outcome: 'denied', responsible: 'agent' },
  WRITE_RATE_LIMITED: { outcome: 'denied', responsible: 'agent' },
  NOT_CONFIRMED: { outcome: 'denied', responsible: 'agent' },
  CONFIRMATION_UNAVAILABLE: { outcome: 'denied', responsible: 'admin' },
  CONFIRMATION_MISMATCH: { outcome: 'denied', responsible: 'agent' },
  /** PingOne accepted a write (2xx) but the state read back is unchanged. */
  WRITE_NOT_APPLIED: { outcome: 'failed', responsible: 'admin' },
} as const satisfies Record<string, { outcome: Exclude<FailureOutcome, 'interrupted'>; responsible: Exclude<Responsible, 'pingone'> }>;

export type ToolErrorCode = keyof typeof TOOL_ERRORS;
/** Refusals by this server's own guards: audited as `denied`. */
export type DenialCode = { [C in ToolErrorCode]: (typeof TOOL_ERRORS)[C]['outcome'] extends 'denied' ? C : never }[ToolErrorCode];

export interface Candidate {
  id: string;
  username?: string;
}

/**
 * A tool call that cannot go on for a reason the agent, the person or the
 * administrator must act on. The message is the text the model sees: what
 * happened and what to do next.
 */
export class ToolError extends Error {
  override readonly name = 'ToolError';

  /** What the audit records as the target, when the failure knows it (e.g. the lookup that found no one). */
  readonly target: AuditTarget | undefined;

  constructor(
    readonly code: ToolErrorCode,
    message: string,
    readonly details: { candidates?: Candidate[]; retryAfterSeconds?: number } = {},
    /** `cause`: the PingOne answer behind it (a 404 behind USER_NOT_FOUND), kept for the audit. */
    options: { target?: AuditTarget; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.target = options.target;
  }

  get outcome(): Exclude<FailureOutcome, 'interrupted'> {
    return TOOL_ERRORS[this.code].outcome;
  }

  get responsible(): Exclude<Responsible, 'pingone'> {
    return TOOL_ERRORS[this.code].responsible;
  }
}

/** A guard's refusal as a value: the write path turns it into the call's end. */
export interface Denial {
  code: DenialCode;
  message: string;
  retryAfterSeconds?: number;
}

export function deny(denial: Denial): ToolError {
  return new ToolError(denial.code, denial.message, denial.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: denial.retryAfterSeconds });
}
