import type { ScopeNames } from '../../config.js';
import { DEMO_USERS } from '../seed.js';

/**
 * The fictional helpdesk staff who can sign in to the sandbox's authorization
 * server. They are people of the demo directory (as in a real tenant, where
 * the helpdesk signs in to the environment it manages), so a token's subject
 * is a user ID the tools know, and "no one changes their own account" can be
 * tried: bsmith unlocking bsmith is refused.
 */
export interface SandboxOperator {
  /** What `login_hint` names to pick this operator. */
  readonly username: string;
  /** The token's `sub`: the operator's user ID in the demo directory. */
  readonly subject: string;
  readonly name: string;
  readonly email: string;
  /** `write` grants the read and the write scope; `read` only the read scope. */
  readonly access: 'read' | 'write';
}

export const SANDBOX_OPERATORS: readonly SandboxOperator[] = [
  { username: 'bsmith', subject: DEMO_USERS.bsmith.id, name: 'Bob Smith', email: DEMO_USERS.bsmith.email, access: 'write' },
  { username: 'ops1', subject: DEMO_USERS.ops1.id, name: 'Operations One', email: DEMO_USERS.ops1.email, access: 'read' },
];

/** The operator signed in when the authorization request has no `login_hint`. */
export const DEFAULT_SANDBOX_OPERATOR = 'bsmith';

export function scopesAllowed(operator: SandboxOperator, scopes: ScopeNames): string[] {
  return operator.access === 'write' ? [scopes.read, scopes.write] : [scopes.read];
}
