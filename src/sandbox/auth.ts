import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { oauthError, p1Error } from './p1error.js';
import { errorReply, jsonReply, type Reply } from './reply.js';

/**
 * The worker app's client-credentials grant and bearer-token checks. Client
 * authentication is as strict as PingOne's: the app accepts exactly one
 * method, so a client configured for the other one fails here as it would there.
 */

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

export type TokenConfig = {
  environmentId: string;
  clientId: string;
  clientSecret: string;
  method: ClientAuthMethod;
  lifetimeSeconds: number;
};

export type TokenRequest = {
  authEnvId: string;
  headers: Record<string, string>;
  contentType: string | undefined;
  body: string;
  now: Date;
};

type Credentials = { clientId: string; clientSecret: string };

/** RFC 6749 §2.3.1: Basic credentials are form-encoded before base64. */
function formDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

function basicCredentials(authorization: string | undefined): Credentials | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
}

/** Constant-time comparison, hashed first so differing lengths leak nothing either. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

const invalidClient = (description: string): Reply => errorReply(401, oauthError('invalid_client', description));

export class TokenService {
  /** Every access token ever issued, so tests can check none leaks into logs. */
  readonly issued: string[] = [];
  private readonly expiry = new Map<string, number>();

  constructor(private readonly config: TokenConfig) {}

  handleTokenRequest(request: TokenRequest): Reply {
    if (request.authEnvId !== this.config.environmentId) return invalidClient('The client could not be authenticated.');
    const mediaType = (request.contentType ?? '').split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/x-www-form-urlencoded') {
      return errorReply(400, oauthError('invalid_request', 'The request must be application/x-www-form-urlencoded.'));
    }
    const form = new URLSearchParams(request.body);
    const authorization = request.headers['authorization'];
    const viaBasic = authorization !== undefined && /^Basic\s/i.test(authorization);
    const viaPost = form.has('client_secret');

    if (viaBasic && viaPost) return invalidClient('Multiple client authentication methods were used.');
    let presented: Credentials | undefined;
    if (this.config.method === 'client_secret_basic') {
      if (!viaBasic) return invalidClient('Unsupported authentication method. The application requires client_secret_basic.');
      presented = basicCredentials(authorization);
      const formId = form.get('client_id');
      if (presented !== undefined && formId !== null && formId !== presented.clientId) presented = undefined;
    } else {
      if (!viaPost) return invalidClient('Unsupported authentication method. The application requires client_secret_post.');
      const clientId = form.get('client_id');
      const clientSecret = form.get('client_secret');
      presented = clientId !== null && clientSecret !== null ? { clientId, clientSecret } : undefined;
    }
    if (
      presented === undefined ||
      presented.clientId !== this.config.clientId ||
      !sameSecret(presented.clientSecret, this.config.clientSecret)
    ) {
      return invalidClient('The client could not be authenticated.');
    }

    const grantType = form.get('grant_type');
    if (grantType === null) return errorReply(400, oauthError('invalid_request', 'grant_type is required.'));
    if (grantType !== 'client_credentials') {
      return errorReply(400, oauthError('unsupported_grant_type', `The grant type ${grantType} is not supported.`));
    }

    const token = randomBytes(32).toString('base64url');
    this.issued.push(token);
    this.expiry.set(token, request.now.getTime() + this.config.lifetimeSeconds * 1000);
    return jsonReply(
      200,
      { access_token: token, token_type: 'Bearer', expires_in: Math.floor(this.config.lifetimeSeconds) },
      { 'cache-control': 'no-store', pragma: 'no-cache' },
    );
  }

  /** A 401 P1Error when the bearer token is missing, unknown or expired; undefined when it is good. */
  checkBearer(authorization: string | undefined, now: Date): Reply | undefined {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    const expiresAt = token === undefined ? undefined : this.expiry.get(token);
    if (expiresAt !== undefined && now.getTime() < expiresAt) return undefined;
    const reason = token === undefined ? 'A bearer access token is required.' : 'The access token is invalid or has expired.';
    return errorReply(
      401,
      p1Error('ACCESS_FAILED', 'The request could not be completed. You are not authorized to access this resource.', [
        { code: 'INVALID_TOKEN', message: reason },
      ]),
      { 'www-authenticate': 'Bearer' },
    );
  }

  /** Makes every issued token expired, to exercise a client's re-authentication. */
  expireAll(): void {
    for (const token of this.expiry.keys()) this.expiry.set(token, 0);
  }
}
