import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/** An OAuth error answer: `code` is the RFC 6749 / 7591 error code. */
export class OAuthFailure extends Error {
  override readonly name = 'OAuthFailure';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = code === 'invalid_client' ? 401 : 400,
  ) {
    super(message);
  }
}

type AuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';
const AUTH_METHODS: readonly AuthMethod[] = ['none', 'client_secret_basic', 'client_secret_post'];
const MAX_CLIENTS = 1_000;
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

export interface RegisteredClient {
  readonly clientId: string;
  readonly authMethod: AuthMethod;
  /** The exact redirect URI of this authorization request (one of the registered ones). */
  redirectUriFor(requested: string | null): string;
}

interface StoredClient extends RegisteredClient {
  readonly secret?: Buffer;
  readonly redirectUris: readonly string[];
}

/**
 * Dynamic client registration (RFC 7591) for the sandbox: anyone on loopback
 * may register, as an MCP client does on first contact. Redirect URIs must be
 * https, http on loopback, or an app's own scheme; they are matched exactly.
 */
export class ClientRegistry {
  readonly #clients = new Map<string, StoredClient>();

  register(body: unknown): Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new OAuthFailure('invalid_client_metadata', 'The registration body must be a JSON object.');
    }
    const metadata = body as Record<string, unknown>;
    const redirectUris = metadata.redirect_uris;
    if (!Array.isArray(redirectUris) || redirectUris.length === 0 || redirectUris.length > 10 || !redirectUris.every(isAcceptableRedirectUri)) {
      throw new OAuthFailure('invalid_redirect_uri', 'redirect_uris must list https URLs, http URLs on loopback, or app schemes, without fragments.');
    }
    const requested = metadata.token_endpoint_auth_method ?? 'client_secret_basic';
    const authMethod = AUTH_METHODS.find((method) => method === requested);
    if (authMethod === undefined) throw new OAuthFailure('invalid_client_metadata', `token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}.`);
    if (this.#clients.size >= MAX_CLIENTS) this.#clients.delete(this.#clients.keys().next().value as string);
    const clientId = randomUUID();
    const secret = authMethod === 'none' ? undefined : randomBytes(32).toString('base64url');
    const uris = [...(redirectUris as string[])];
    this.#clients.set(clientId, {
      clientId,
      authMethod,
      redirectUris: uris,
      ...(secret === undefined ? {} : { secret: Buffer.from(secret) }),
      redirectUriFor(requestedUri) {
        if (requestedUri === null && uris.length === 1) return uris[0] as string;
        if (requestedUri !== null && uris.includes(requestedUri)) return requestedUri;
        throw new OAuthFailure('invalid_request', 'redirect_uri is not one this client registered.');
      },
    });
    return {
      client_id: clientId,
      client_id_issued_at: Math.floor(Date.now() / 1000),
      ...(secret === undefined ? {} : { client_secret: secret, client_secret_expires_at: 0 }),
      redirect_uris: uris,
      token_endpoint_auth_method: authMethod,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      ...(typeof metadata.client_name === 'string' ? { client_name: metadata.client_name.slice(0, 100) } : {}),
    };
  }

  get(clientId: string | null): RegisteredClient {
    const client = clientId === null ? undefined : this.#clients.get(clientId);
    if (client === undefined) throw new OAuthFailure('invalid_request', 'client_id is not registered; register first (RFC 7591).');
    return client;
  }

  /** The client a token request comes from, by the method it registered. */
  authenticate(authorization: string | undefined, form: URLSearchParams): RegisteredClient {
    let clientId = form.get('client_id');
    let secret = form.get('client_secret');
    if (authorization?.toLowerCase().startsWith('basic ')) {
      const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new OAuthFailure('invalid_client', 'Malformed Basic client authentication.');
      // RFC 6749 §2.3.1 form-encodes both; a malformed escape is the client's mistake (401), not a server error.
      clientId = formDecoded(decoded.slice(0, colon));
      secret = formDecoded(decoded.slice(colon + 1));
    }
    const client = clientId === null ? undefined : this.#clients.get(clientId);
    if (client === undefined) throw new OAuthFailure('invalid_client', 'Unknown client.');
    if (client.secret === undefined) return client;
    const presented = Buffer.from(secret ?? '');
    if (presented.length !== client.secret.length || !timingSafeEqual(presented, client.secret)) {
      throw new OAuthFailure('invalid_client', 'Client authentication failed.');
    }
    return client;
  }
}

function formDecoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new OAuthFailure('invalid_client', 'Malformed Basic client authentication.');
  }
}

function isAcceptableRedirectUri(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > 2000 || !URL.canParse(value)) return false;
  const url = new URL(value);
  if (url.hash !== '' || value.includes('#')) return false;
  if (url.protocol === 'https:') return true;
  if (url.protocol === 'http:') return LOOPBACK.test(url.hostname);
  // A native app's private-use scheme (RFC 8252 §7.1), e.g. vscode: or cursor:; never a scheme that runs or reads locally.
  return /^[a-z][a-z0-9+.-]*:$/.test(url.protocol) && !['javascript:', 'data:', 'file:', 'blob:', 'vbscript:', 'about:'].includes(url.protocol);
}
