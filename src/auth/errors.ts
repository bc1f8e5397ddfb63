import { OAuthError, OAuthErrorCode } from '@modelcontextprotocol/server';

/**
 * The two ways a token check fails, split by who must act. Both are the SDK's
 * OAuthError, so `bearerAuthChallengeResponse` answers them without help:
 * a rejected token is the client's to fix (401 with a challenge that sends it
 * back to the authorization server); an unavailable verifier is ours (500,
 * no challenge: the token may be fine). Messages are fixed sentences: they
 * never hold the token or a claim value, because they reach the caller.
 */
export class TokenRejectedError extends OAuthError {
  override readonly name = 'TokenRejectedError';
  constructor(reason: string) {
    super(OAuthErrorCode.InvalidToken, reason);
  }
}

export class VerifierUnavailableError extends OAuthError {
  override readonly name = 'VerifierUnavailableError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(OAuthErrorCode.ServerError, reason);
    // Kept for the operator's log; never serialised into a response.
    if (options?.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false });
  }
}
