/**
 * The person accountable for a tool call, as the rest of the house sees it.
 *
 * Over HTTP the operator comes from a verified OAuth access token: issuer and
 * subject identify them, and nothing else is trusted. On stdio nobody is
 * verified: the composition builds an unverified operator from
 * PINGONE_MCP_OPERATOR (a claim by whoever configured the server), or none.
 * Tools receive the operator per call and never see a token.
 */
export type Operator = VerifiedOperator | UnverifiedOperator;

export interface VerifiedOperator {
  readonly verified: true;
  /** The token's `iss`, exactly as verified. */
  readonly issuer: string;
  /** The token's `sub`: with the issuer, the operator's identity. */
  readonly subject: string;
  /** For people reading the trail (a configurable claim, e.g. preferred_username); never used to decide. */
  readonly displayName: string;
  /**
   * The token's email and username claims, as claimed (possibly none): compared with a target user's
   * username and email to refuse a change of one's own account, never used to allow anything.
   */
  readonly handles?: readonly string[];
  /** The token's scopes. */
  readonly scopes: ReadonlySet<string>;
}

export interface UnverifiedOperator {
  readonly verified: false;
  /** From PINGONE_MCP_OPERATOR, when set. */
  readonly displayName?: string;
}

/**
 * The key per-operator limits and confirmations count under: issuer and
 * subject, unambiguous whatever characters they hold; one key for every
 * unverified caller of a process.
 */
export function operatorKey(operator: Operator): string {
  return operator.verified ? JSON.stringify([operator.issuer, operator.subject]) : 'local';
}
