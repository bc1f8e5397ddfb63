import type { AuthInfo } from '@modelcontextprotocol/server';
import type { ScopeNames } from '../config.js';
import type { VerifiedOperator } from './operator.js';

/**
 * From a verified token to the operator the rest of the house sees. The
 * verifier already chose and sanitised the display name (it knows the
 * configured claims); this reads its result back out of `AuthInfo.extra`,
 * whose values are plain strings so they survive any copy the SDK makes.
 */
export function operatorFromAuthInfo(authInfo: AuthInfo): VerifiedOperator {
  const extra = authInfo.extra ?? {};
  const { issuer, subject, displayName } = extra;
  if (typeof issuer !== 'string' || typeof subject !== 'string' || typeof displayName !== 'string' || issuer === '' || subject === '') {
    // Only our verifier makes AuthInfo for this server; anything else is a wiring mistake.
    throw new TypeError('operatorFromAuthInfo: this AuthInfo was not produced by createTokenVerifier');
  }
  const handles = [extra.email, extra.username].filter((value): value is string => typeof value === 'string' && value !== '');
  return { verified: true, issuer, subject, displayName, handles, scopes: new Set(authInfo.scopes) };
}

/** The kinds of tool, as `tools/` names them (`Access` there); repeated here so auth/ imports no tool code. */
export type ToolAccess = 'read' | 'write';

/** The scopes a call needs: reads need the read scope, writes the write scope. */
export function requiredScopes(access: ToolAccess, scopes: ScopeNames): [string] {
  return access === 'read' ? [scopes.read] : [scopes.write];
}

/** Whether the operator's token allows this kind of tool (for `tools/list` and before a call). */
export function operatorMay(operator: VerifiedOperator, access: ToolAccess, scopes: ScopeNames): boolean {
  return requiredScopes(access, scopes).every((scope) => operator.scopes.has(scope));
}

/**
 * What a 403 step-up challenge asks for: everything the call needs plus the
 * read scope, so that the token the client comes back with still lists and
 * looks up (an authorization server replaces the scopes, it does not add).
 */
export function stepUpScopes(access: ToolAccess, scopes: ScopeNames): [string, ...string[]] {
  return access === 'read' ? [scopes.read] : [scopes.read, scopes.write];
}
