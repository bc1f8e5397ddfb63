import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkResourceAllowed } from '@modelcontextprotocol/server';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { ScopeNames } from '../../config.js';
import { DEFAULT_SANDBOX_OPERATOR, SANDBOX_OPERATORS, scopesAllowed, type SandboxOperator } from './operators.js';
import { ClientRegistry, OAuthFailure, type RegisteredClient } from './clients.js';

/**
 * A small OAuth 2.1 authorization server for `--sandbox --http`, on loopback
 * only: discovery (RFC 8414 and OpenID Connect), a JWKS, dynamic client
 * registration (RFC 7591), the authorization code grant with PKCE S256 only,
 * and refresh tokens with rotation. It consents on its own: `login_hint`
 * names the operator (see operators.ts), without one the default operator
 * signs in, and the operator is granted every scope they hold. Everything lives in memory and dies with the process.
 *
 * Built on jose and node:http rather than a full provider library: it is
 * loaded only in sandbox mode, and a few hundred lines start in
 * milliseconds and add nothing to install.
 */
export interface SandboxAuthorizationServerOptions {
  /** The MCP endpoint's URL: the audience of every token issued. */
  readonly resource: string;
  readonly scopes: ScopeNames;
  /** Loopback address to listen on; default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /** Username of the operator signed in without `login_hint`; default bsmith. */
  readonly defaultOperator?: string;
  /** Access token lifetime; default 900 s. */
  readonly tokenLifetimeSeconds?: number;
  readonly operators?: readonly SandboxOperator[];
}

export interface SandboxAuthorizationServer {
  /** `http://127.0.0.1:<port>`: the `iss` of its tokens and where its metadata lives. */
  readonly issuer: string;
  readonly operators: readonly SandboxOperator[];
  close(): Promise<void>;
}

const LOOPBACK_HOST = /^(127(\.\d{1,3}){3}|::1|localhost)$/i;
const CODE_LIFETIME_MS = 60_000;
const MAX_BODY_BYTES = 16 * 1024;
const MAX_GRANTS = 10_000;

interface Grant {
  readonly client: RegisteredClient;
  readonly operator: SandboxOperator;
  readonly scopes: readonly string[];
  readonly resource: string;
}
interface PendingCode extends Grant {
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly expiresAt: number;
}

export async function startSandboxAuthorizationServer(options: SandboxAuthorizationServerOptions): Promise<SandboxAuthorizationServer> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOST.test(host)) throw new Error('The sandbox authorization server listens on loopback only.');
  const operators = options.operators ?? SANDBOX_OPERATORS;
  const defaultName = options.defaultOperator ?? DEFAULT_SANDBOX_OPERATOR;
  const defaultOperator = operators.find((operator) => operator.username === defaultName);
  if (defaultOperator === undefined) {
    throw new Error(`PINGONE_MCP_SANDBOX_OPERATOR names no sandbox operator: use one of ${operators.map((o) => o.username).join(', ')}.`);
  }
  const lifetime = options.tokenLifetimeSeconds ?? 900;
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const clients = new ClientRegistry();
  const codes = new Map<string, PendingCode>();
  const refreshTokens = new Map<string, Grant>();
  let issuer = '';

  const metadata = () => ({
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    registration_endpoint: `${issuer}/register`,
    jwks_uri: `${issuer}/jwks`,
    scopes_supported: [options.scopes.read, options.scopes.write],
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    authorization_response_iss_parameter_supported: true,
    // OpenID Connect discovery requires these two even though no ID token is issued.
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256'],
  });

  const issueTokens = async (grant: Grant) => {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT({
      scope: grant.scopes.join(' '),
      client_id: grant.client.clientId,
      preferred_username: grant.operator.username,
      email: grant.operator.email,
      name: grant.operator.name,
    })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setSubject(grant.operator.subject)
      .setAudience(grant.resource)
      .setIssuedAt(now)
      .setExpirationTime(now + lifetime)
      .setJti(randomUUID())
      .sign(privateKey);
    const refreshToken = randomToken();
    if (refreshTokens.size >= MAX_GRANTS) refreshTokens.delete(refreshTokens.keys().next().value as string);
    refreshTokens.set(refreshToken, grant);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: lifetime, scope: grant.scopes.join(' '), refresh_token: refreshToken };
  };

  const authorize = (query: URLSearchParams): string => {
    const client = clients.get(query.get('client_id'));
    const redirectUri = client.redirectUriFor(query.get('redirect_uri'));
    // From here on, errors go back to the client's redirect URI (RFC 6749 §4.1.2.1).
    const back = new URL(redirectUri);
    const state = query.get('state');
    const reply = (params: Record<string, string>) => {
      for (const [key, value] of Object.entries({ ...params, iss: issuer, ...(state === null ? {} : { state }) })) back.searchParams.set(key, value);
      return back.href;
    };
    try {
      if (query.get('response_type') !== 'code') throw new OAuthFailure('unsupported_response_type', 'Only response_type=code is supported.');
      const challenge = query.get('code_challenge') ?? '';
      if (query.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
        throw new OAuthFailure('invalid_request', 'PKCE with code_challenge_method=S256 is required.');
      }
      const resource = requestedResource(query.get('resource'), options.resource);
      const hint = query.get('login_hint');
      const operator = hint === null ? defaultOperator : operators.find((candidate) => candidate.username === hint);
      if (operator === undefined) throw new OAuthFailure('access_denied', `login_hint names no sandbox operator; use one of ${operators.map((o) => o.username).join(', ')}.`);
      const scopes = grantedScopes(query.get('scope'), scopesAllowed(operator, options.scopes));
      const code = randomToken();
      if (codes.size >= MAX_GRANTS) codes.delete(codes.keys().next().value as string);
      codes.set(code, { client, operator, scopes, resource, redirectUri, codeChallenge: challenge, expiresAt: Date.now() + CODE_LIFETIME_MS });
      return reply({ code });
    } catch (error) {
      if (error instanceof OAuthFailure) return reply({ error: error.code, error_description: error.message });
      throw error;
    }
  };

  const token = async (request: IncomingMessage, form: URLSearchParams) => {
    const client = clients.authenticate(request.headers.authorization, form);
    const grantType = form.get('grant_type');
    if (grantType === 'authorization_code') {
      const code = form.get('code') ?? '';
      const pending = codes.get(code);
      codes.delete(code); // single use, whatever happens next
      if (pending === undefined || pending.expiresAt < Date.now() || pending.client.clientId !== client.clientId) {
        throw new OAuthFailure('invalid_grant', 'The authorization code is unknown, used or expired.');
      }
      if (form.get('redirect_uri') !== pending.redirectUri) throw new OAuthFailure('invalid_grant', 'redirect_uri differs from the authorization request.');
      if (!pkceMatches(form.get('code_verifier'), pending.codeChallenge)) throw new OAuthFailure('invalid_grant', 'The PKCE code_verifier does not match.');
      const resource = form.get('resource');
      if (resource !== null && resource !== pending.resource) throw new OAuthFailure('invalid_target', 'resource differs from the authorization request.');
      return issueTokens(pending);
    }
    if (grantType === 'refresh_token') {
      const presented = form.get('refresh_token') ?? '';
      const grant = refreshTokens.get(presented);
      if (grant === undefined || grant.client.clientId !== client.clientId) throw new OAuthFailure('invalid_grant', 'The refresh token is unknown or used.');
      refreshTokens.delete(presented); // rotation: each refresh token works once
      return issueTokens({ ...grant, scopes: narrowedScopes(form.get('scope'), grant.scopes) });
    }
    throw new OAuthFailure('unsupported_grant_type', 'Use authorization_code or refresh_token.');
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', issuer);
    const route = `${request.method} ${url.pathname}`;
    try {
      switch (route) {
        case 'GET /.well-known/oauth-authorization-server':
        case 'GET /.well-known/openid-configuration':
          return sendJson(response, 200, metadata());
        case 'GET /jwks':
          return sendJson(response, 200, { keys: [jwk] });
        case 'POST /register':
          // JSON only (RFC 7591 §3.1): a page on any site may send text/plain without a CORS preflight, and with
          // auto-consent and a simple form POST to /token that would let any web page mint a sandbox token.
          if (!/^application\/json\s*(;|$)/i.test(request.headers['content-type'] ?? '')) {
            request.resume();
            return sendJson(response, 415, { error: 'invalid_client_metadata', error_description: 'Send the registration as Content-Type: application/json.' });
          }
          return sendJson(response, 201, clients.register(JSON.parse((await readBody(request)) || 'null') as unknown));
        case 'GET /authorize':
          response.writeHead(302, { Location: authorize(url.searchParams), 'Cache-Control': 'no-store' }).end();
          return;
        case 'POST /token':
          return sendJson(response, 200, await token(request, new URLSearchParams(await readBody(request))));
        default:
          return sendJson(response, 404, { error: 'not_found' });
      }
    } catch (error) {
      if (error instanceof OAuthFailure) return sendJson(response, error.status, { error: error.code, error_description: error.message });
      if (error instanceof SyntaxError) return sendJson(response, 400, { error: 'invalid_request', error_description: 'The body is not valid JSON.' });
      return sendJson(response, 500, { error: 'server_error' });
    }
  };

  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  issuer = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    issuer,
    operators,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** RFC 8707: a token is for the configured MCP endpoint (or a URL under it), named or implied. */
function requestedResource(requested: string | null, configured: string): string {
  if (requested === null) return configured;
  if (!URL.canParse(requested) || !checkResourceAllowed({ requestedResource: requested, configuredResource: configured })) {
    throw new OAuthFailure('invalid_target', 'This authorization server issues tokens only for the sandbox MCP endpoint.');
  }
  return configured;
}

/**
 * Auto-consent grants everything the operator holds, whatever subset was asked for (RFC 6749 §3.3
 * lets the server differ; the token response names the scopes): a demo's write operator then
 * writes without a step-up round trip. Asking only for scopes the operator lacks is refused.
 */
function grantedScopes(requested: string | null, allowed: readonly string[]): string[] {
  if (requested === null || requested.trim() === '') return [...allowed];
  const asked = new Set(requested.split(' '));
  if (!allowed.some((scope) => asked.has(scope))) throw new OAuthFailure('invalid_scope', 'This operator holds none of the requested scopes.');
  return [...allowed];
}

/** A refresh may narrow the grant, never widen it (RFC 6749 §6). */
function narrowedScopes(requested: string | null, granted: readonly string[]): string[] {
  if (requested === null || requested.trim() === '') return [...granted];
  const asked = new Set(requested.split(' '));
  const kept = granted.filter((scope) => asked.has(scope));
  if (kept.length === 0) throw new OAuthFailure('invalid_scope', 'The refresh asks for none of the granted scopes.');
  return kept;
}

function pkceMatches(verifier: string | null, challenge: string): boolean {
  if (verifier === null || !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(verifier).digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new OAuthFailure('invalid_request', 'The request body is too large.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response
    .writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Access-Control-Allow-Origin': '*' })
    .end(JSON.stringify(body));
}
