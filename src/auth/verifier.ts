import type { AuthInfo, OAuthTokenVerifier } from '@modelcontextprotocol/server';
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { OAuthPolicy } from '../config.js';
import { displayNameFromClaims } from './displayName.js';
import { TokenRejectedError, VerifierUnavailableError } from './errors.js';
import { createIssuerKeys, type IssuerKeyOptions } from './issuerKeys.js';

/**
 * Verifies JWT access tokens locally, as the MCP authorization spec asks of a
 * resource server: signature by the issuer's published keys, `iss` exactly,
 * `aud` naming this server (RFC 8707), `exp` required, `nbf` honoured, a small
 * clock skew, and a cap on the lifetime the issuer granted.
 */

/** Asymmetric algorithms only: `none` and every HMAC algorithm are refused before any key is looked up. */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

export const CLOCK_SKEW_SECONDS = 30;
const MAX_TOKEN_LENGTH = 16 * 1024;
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const SAFE_IDENTIFIER = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]{1,255}$/u;

export interface TokenVerifierSettings {
  /** Compared with `iss` exactly. */
  readonly issuer: string;
  /** The public URL of the MCP endpoint; `aud` must contain it. */
  readonly resource: string;
  readonly policy: OAuthPolicy;
}

/** What the verifier puts in `AuthInfo.extra`; read back with `operatorFromAuthInfo`. */
export interface VerifiedClaims {
  readonly issuer: string;
  readonly subject: string;
  readonly displayName: string;
  /**
   * The token's `email` and `preferred_username` as claimed ('' when absent or unusable): never trusted to
   * allow anything, only compared with a target's username and email so that no one changes their own account
   * when the issuer's `sub` is not the managed environment's user ID.
   */
  readonly email: string;
  readonly username: string;
}

export type TokenVerifierOptions = IssuerKeyOptions & {
  /** The key source; by default the issuer's JWKS found through discovery. */
  readonly keys?: JWTVerifyGetKey;
};

export function createTokenVerifier(settings: TokenVerifierSettings, options: TokenVerifierOptions = {}): OAuthTokenVerifier {
  const keys = options.keys ?? createIssuerKeys(settings.issuer, options).getKey;
  const resource = new URL(settings.resource);
  const audiences = sameResourceForms(settings.resource);
  const { maxTokenLifetimeSeconds, displayNameClaims } = settings.policy;

  return {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
        throw new TokenRejectedError('The access token is malformed.');
      }
      checkAlgorithm(token);
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          algorithms: [...ALLOWED_ALGORITHMS],
          issuer: settings.issuer,
          audience: audiences,
          clockTolerance: CLOCK_SKEW_SECONDS,
          requiredClaims: ['exp', 'iat', 'sub'],
          maxTokenAge: maxTokenLifetimeSeconds,
        }));
      } catch (error) {
        throw rejection(error);
      }
      const exp = payload.exp as number;
      const iat = payload.iat as number;
      if (exp - iat > maxTokenLifetimeSeconds) {
        throw new TokenRejectedError(`The access token lives longer than the ${maxTokenLifetimeSeconds} s this server accepts; shorten the access token lifetime at the authorization server.`);
      }
      if (iat > Date.now() / 1000 + CLOCK_SKEW_SECONDS) throw new TokenRejectedError('The access token was issued in the future.');
      const subject = payload.sub;
      if (typeof subject !== 'string' || !SAFE_IDENTIFIER.test(subject)) throw new TokenRejectedError('The access token has an unusable subject.');
      const claims: VerifiedClaims = {
        issuer: settings.issuer,
        subject,
        displayName: displayNameFromClaims(payload, displayNameClaims) || subject,
        email: handleOf(payload.email),
        username: handleOf(payload.preferred_username),
      };
      return {
        token,
        clientId: clientIdOf(payload),
        scopes: scopesOf(payload),
        expiresAt: exp,
        resource,
        extra: { ...claims },
      };
    },
  };
}

/** The header is checked before any key is looked up: a `none` or HMAC token never costs a fetch. */
function checkAlgorithm(token: string): void {
  let alg: unknown;
  try {
    ({ alg } = decodeProtectedHeader(token));
  } catch {
    throw new TokenRejectedError('The access token is not a signed JWT.');
  }
  if (!(ALLOWED_ALGORITHMS as readonly unknown[]).includes(alg)) {
    throw new TokenRejectedError('The access token is signed with an algorithm this server does not accept.');
  }
}

/** One trailing slash is not a different resource; anything else is. */
function sameResourceForms(resource: string): string[] {
  const bare = resource.replace(/\/$/, '');
  return [bare, `${bare}/`];
}

function rejection(error: unknown): Error {
  if (error instanceof VerifierUnavailableError) return error;
  if (error instanceof errors.JWTExpired) return new TokenRejectedError('The access token has expired.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = error.claim.replace(/[^a-z_]/gi, '').slice(0, 20);
    if (error.reason === 'missing') return new TokenRejectedError(`The access token lacks the "${claim}" claim.`);
    switch (error.claim) {
      case 'iss':
        return new TokenRejectedError('The access token comes from another issuer.');
      case 'aud':
        return new TokenRejectedError('The access token was not issued for this server (audience).');
      case 'nbf':
        return new TokenRejectedError('The access token is not valid yet.');
      case 'iat':
        return new TokenRejectedError('The access token is too old or was issued in the future.');
      default:
        return new TokenRejectedError(`The access token has an invalid "${claim}" claim.`);
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new TokenRejectedError('The access token signature is not valid.');
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new TokenRejectedError('The access token is signed with a key the issuer does not publish.');
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return new TokenRejectedError('The access token is signed with an algorithm this server does not accept.');
  if (error instanceof errors.JOSEError) return new TokenRejectedError('The access token is malformed.');
  return new VerifierUnavailableError('The access token could not be checked.', { cause: error });
}

function handleOf(claim: unknown): string {
  return typeof claim === 'string' && SAFE_IDENTIFIER.test(claim) ? claim : '';
}

function clientIdOf(payload: JWTPayload): string {
  const id = payload.client_id ?? payload.azp ?? payload.cid;
  return typeof id === 'string' && SAFE_IDENTIFIER.test(id) ? id : '';
}

/** `scope` (RFC 8693/9068, space-separated) and `scp` (a list or a string), merged; malformed entries dropped. */
export function scopesOf(payload: Readonly<Record<string, unknown>>): string[] {
  const found = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string') {
      for (const scope of value.split(' ')) if (SCOPE_TOKEN.test(scope)) found.add(scope);
    } else if (Array.isArray(value)) {
      for (const item of value) if (typeof item === 'string' && SCOPE_TOKEN.test(item)) found.add(item);
    }
  };
  add(payload.scope);
  add(payload.scp);
  return [...found];
}
