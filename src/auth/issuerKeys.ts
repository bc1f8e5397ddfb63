import { createRemoteJWKSet, errors, type JWTVerifyGetKey } from 'jose';
import { VerifierUnavailableError } from './errors.js';

/**
 * The issuer's signing keys, found the way OAuth clients find them: the
 * discovery document names the JWKS, and jose's remote key set fetches it,
 * caches it, and fetches it again for an unknown `kid` at most once per
 * cooldown (so a flood of made-up key IDs cannot turn into a flood of
 * requests to the issuer). Both documents are fetched only over https, or
 * plain http on loopback (the sandbox and the tests).
 */
export interface IssuerKeyOptions {
  /** Fetch timeout for discovery and JWKS. */
  readonly timeoutMs?: number;
  /** Least time between two JWKS fetches caused by unknown key IDs. */
  readonly cooldownMs?: number;
  /** How long a fetched JWKS is trusted before it is fetched again. */
  readonly cacheMaxAgeMs?: number;
  /** After a failed discovery, requests within this time fail at once instead of asking again. */
  readonly retryAfterFailureMs?: number;
}

const MAX_DOCUMENT_BYTES = 256 * 1024;
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** https anywhere; plain http only on loopback. */
export function isAllowedFetchUrl(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname));
}

/** Where the issuer's metadata may live: OpenID Connect discovery first, then RFC 8414. */
export function discoveryUrls(issuer: string): URL[] {
  const base = new URL(issuer);
  const path = base.pathname.replace(/\/+$/, '');
  const oidc = new URL(`${path}/.well-known/openid-configuration`, base);
  const rfc8414 = new URL(`/.well-known/oauth-authorization-server${path}`, base);
  return [oidc, rfc8414];
}

export interface IssuerKeys {
  /** The key for a token's header, for jose's jwtVerify. */
  readonly getKey: JWTVerifyGetKey;
  /** Discovery and a JWKS fetch now, e.g. at start-up to report a wrong issuer early; rejects with VerifierUnavailableError. */
  warmUp(): Promise<void>;
}

type RemoteKeys = ReturnType<typeof createRemoteJWKSet>;

export function createIssuerKeys(issuer: string, options: IssuerKeyOptions = {}): IssuerKeys {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const retryAfterFailureMs = options.retryAfterFailureMs ?? 5_000;
  let keys: RemoteKeys | undefined;
  let pending: Promise<RemoteKeys> | undefined;
  let failedAt = Number.NEGATIVE_INFINITY;
  let keysFailedAt = Number.NEGATIVE_INFINITY;

  const discover = async (): Promise<RemoteKeys> => {
    const jwksUri = await findJwksUri(issuer, timeoutMs);
    return createRemoteJWKSet(jwksUri, {
      timeoutDuration: timeoutMs,
      cooldownDuration: options.cooldownMs ?? 30_000,
      cacheMaxAge: options.cacheMaxAgeMs ?? 10 * 60_000,
    });
  };

  const resolveKeys = (): Promise<RemoteKeys> => {
    if (keys !== undefined) return Promise.resolve(keys);
    if (Date.now() - failedAt < retryAfterFailureMs) {
      return Promise.reject(new VerifierUnavailableError('The authorization server could not be reached recently; try again shortly.'));
    }
    pending ??= discover().then(
      (found) => {
        keys = found;
        pending = undefined;
        return found;
      },
      (error: unknown) => {
        failedAt = Date.now();
        pending = undefined;
        throw error;
      },
    );
    return pending;
  };

  const getKey: JWTVerifyGetKey = async (header, token) => {
    const remote = await resolveKeys();
    // jose retries a failed JWKS fetch on every call; while the issuer is failing, one try per pause is enough.
    if (Date.now() - keysFailedAt < retryAfterFailureMs) {
      throw new VerifierUnavailableError("The authorization server's signing keys could not be fetched recently; try again shortly.");
    }
    try {
      return await remote(header, token);
    } catch (error) {
      // No key for this token is the token's problem; anything else (network, timeout,
      // a malformed key set) is ours and says nothing about the token.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      keysFailedAt = Date.now();
      throw new VerifierUnavailableError("The authorization server's signing keys could not be fetched.", { cause: error });
    }
  };

  const warmUp = async (): Promise<void> => {
    const remote = await resolveKeys();
    try {
      await remote.reload();
    } catch (error) {
      keysFailedAt = Date.now();
      throw new VerifierUnavailableError("The authorization server's signing keys could not be fetched.", { cause: error });
    }
  };

  return { getKey, warmUp };
}

async function findJwksUri(issuer: string, timeoutMs: number): Promise<URL> {
  for (const url of discoveryUrls(issuer)) {
    const document = await fetchJson(url, timeoutMs);
    if (document === undefined) continue;
    // RFC 8414 §3.3 / OIDC Discovery §4.3: the document must name the issuer we asked about.
    if (document.issuer !== issuer) {
      throw new VerifierUnavailableError('The discovery document names another issuer than PINGONE_MCP_OAUTH_ISSUER; check the setting.');
    }
    const jwksUri = typeof document.jwks_uri === 'string' && URL.canParse(document.jwks_uri) ? new URL(document.jwks_uri) : undefined;
    if (jwksUri === undefined || !isAllowedFetchUrl(jwksUri)) {
      throw new VerifierUnavailableError('The discovery document has no https jwks_uri.');
    }
    return jwksUri;
  }
  throw new VerifierUnavailableError('The authorization server publishes no discovery document at its issuer URL.');
}

/** The JSON object at `url`, or undefined when the server says it has none (a 4xx). */
async function fetchJson(url: URL, timeoutMs: number): Promise<Record<string, unknown> | undefined> {
  if (!isAllowedFetchUrl(url)) throw new VerifierUnavailableError('The issuer must be an https URL.');
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (cause) {
    throw new VerifierUnavailableError('The authorization server could not be reached for discovery.', { cause });
  }
  if (response.status >= 400 && response.status < 500) {
    await response.body?.cancel();
    return undefined;
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new VerifierUnavailableError(`The authorization server answered discovery with HTTP ${response.status}.`);
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_DOCUMENT_BYTES) {
    await response.body?.cancel();
    throw new VerifierUnavailableError('The discovery document is too large.');
  }
  try {
    const text = await response.text();
    if (text.length > MAX_DOCUMENT_BYTES) throw new Error('too large');
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (cause) {
    throw new VerifierUnavailableError('The discovery document is not a JSON object.', { cause });
  }
}
