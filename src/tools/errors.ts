import type { AuditOutcome } from '../audit/record.js';

export type ToolErrorCode =
  | 'INVALID_INPUT'
  | 'USER_NOT_FOUND'
  | 'USER_AMBIGUOUS'
  | 'DEVICE_NOT_FOUND'
  | 'AUDIT_UNAVAILABLE';

export interface Candidate {
  id: string;
  username?: string;
}

/**
 * A tool call that cannot go on for a reason the agent (or, for the audit
 * trail, the operator) must act on. The message is the text the model sees:
 * what happened and what to do next.
 */
export class ToolError extends Error {
  override readonly name = 'ToolError';

  constructor(
    readonly code: ToolErrorCode,
    message: string,
    readonly candidates?: Candidate[],
  ) {
    super(message);
  }

  get outcome(): Extract<AuditOutcome, 'invalid_input' | 'failed'> {
    return this.code === 'INVALID_INPUT' ? 'invalid_input' : 'failed';
  }

  get responsible(): 'agent' | 'admin' {
    return this.code === 'AUDIT_UNAVAILABLE' ? 'admin' : 'agent';
  }
}
