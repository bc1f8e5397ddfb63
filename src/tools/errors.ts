import type { AuditOutcome } from '../audit/record.js';

/** Refusals by this server's own guards: audited as `denied`. */
export type DenialCode =
  | 'PROTECTED_USER'
  | 'POPULATION_NOT_ALLOWED'
  | 'WRITE_RATE_LIMITED'
  | 'NOT_CONFIRMED'
  | 'CONFIRMATION_UNAVAILABLE'
  | 'CONFIRMATION_MISMATCH';

export type ToolErrorCode = 'INVALID_INPUT' | 'USER_NOT_FOUND' | 'USER_AMBIGUOUS' | 'DEVICE_NOT_FOUND' | 'AUDIT_UNAVAILABLE' | DenialCode;

const DENIALS: ReadonlySet<ToolErrorCode> = new Set<DenialCode>([
  'PROTECTED_USER',
  'POPULATION_NOT_ALLOWED',
  'WRITE_RATE_LIMITED',
  'NOT_CONFIRMED',
  'CONFIRMATION_UNAVAILABLE',
  'CONFIRMATION_MISMATCH',
]);

const ADMIN_MATTERS: ReadonlySet<ToolErrorCode> = new Set<ToolErrorCode>(['AUDIT_UNAVAILABLE', 'CONFIRMATION_UNAVAILABLE', 'PROTECTED_USER', 'POPULATION_NOT_ALLOWED']);

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

  constructor(
    readonly code: ToolErrorCode,
    message: string,
    readonly details: { candidates?: Candidate[]; retryAfterSeconds?: number } = {},
  ) {
    super(message);
  }

  get outcome(): Extract<AuditOutcome, 'invalid_input' | 'failed' | 'denied'> {
    if (this.code === 'INVALID_INPUT') return 'invalid_input';
    return DENIALS.has(this.code) ? 'denied' : 'failed';
  }

  /** Who must act: the agent (fix the call, ask the person, wait) or an administrator. */
  get responsible(): 'agent' | 'admin' {
    return ADMIN_MATTERS.has(this.code) ? 'admin' : 'agent';
  }
}
