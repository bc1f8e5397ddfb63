import {
  bearerAuthChallengeResponse,
  getOAuthProtectedResourceMetadataUrl,
  OAuthError,
  OAuthErrorCode,
  verifyBearerToken,
  type AuthInfo,
  type OAuthProtectedResourceMetadata,
  type OAuthTokenVerifier,
} from '@modelcontextprotocol/server';
import type { OAuthConfig, ScopeNames } from '../config.js';
import type { VerifiedOperator } from './operator.js';
import { operatorFromAuthInfo, stepUpScopes, type ToolAccess } from './tokenOperator.js';
import { createIssuerKeys } from './issuerKeys.js';
import { createTokenVerifier, type TokenVerifierOptions, type TokenVerifierSettings } from './verifier.js';

/**
 * The OAuth resource server as the HTTP listener uses it: one value built
 * once at start-up, holding the verifier, the Protected Resource Metadata
 * (RFC 9728) and its paths, and the 401/403 answers. Everything the listener
 * needs is a method here; no token or claim ever leaves this module except
 * as the verified `AuthInfo` and the `VerifiedOperator`.
 */
export interface ResourceServer {
  /** The canonical URL of the MCP endpoint (tokens' audience). */
  readonly resource: URL;
  readonly issuer: string;
  readonly scopes: ScopeNames;
  readonly verifier: OAuthTokenVerifier;
  /** Absolute URL of the metadata document (the path-aware form), advertised in every challenge. */
  readonly resourceMetadataUrl: string;
  /** Request paths that serve the metadata document: the root form and the path-aware form. */
  readonly metadataPaths: readonly string[];
  readonly metadata: OAuthProtectedResourceMetadata;
  /**
   * The verified AuthInfo for a request's `Authorization: Bearer` header, or
   * the Response to send instead: 401 with `WWW-Authenticate: Bearer
   * resource_metadata=…, scope=…` for a missing or rejected token, 403
   * `insufficient_scope` for a valid token with neither scope, 500 when the
   * issuer cannot be reached (the token may be fine, so no challenge).
   */
  authenticate(request: Request): Promise<AuthInfo | Response>;
  /** The metadata document when the request's path is one of `metadataPaths`; undefined otherwise. */
  metadataResponse(request: Request): Response | undefined;
  /** 403 `insufficient_scope` with the scopes to step up to, for a call the token does not allow. */
  insufficientScope(access: ToolAccess): Response;
  operatorOf(authInfo: AuthInfo): VerifiedOperator;
  /**
   * Fetches the issuer's discovery document and JWKS now. Call it at start-up and log a
   * failure as a warning (a misspelt PINGONE_MCP_OAUTH_ISSUER shows at once, while an issuer
   * that is down for a moment does not stop the server); tokens are checked either way.
   */
  warmUp(): Promise<void>;
}

export function createResourceServer(settings: TokenVerifierSettings, options: TokenVerifierOptions = {}): ResourceServer {
  const resource = new URL(settings.resource);
  const scopes = settings.policy.scopes;
  const issuerKeys = createIssuerKeys(settings.issuer, options);
  const verifier = createTokenVerifier(settings, { keys: issuerKeys.getKey, ...options });
  const resourceMetadataUrl = getOAuthProtectedResourceMetadataUrl(resource);
  const metadataPaths = [...new Set([new URL(resourceMetadataUrl).pathname, '/.well-known/oauth-protected-resource'])];
  // Built here rather than with the SDK's buildOAuthProtectedResourceMetadata, which wants the
  // authorization server's whole metadata (endpoints we would have to fetch or invent) for one field.
  const metadata: OAuthProtectedResourceMetadata = {
    resource: resource.href,
    authorization_servers: [settings.issuer],
    scopes_supported: [scopes.read, scopes.write],
    bearer_methods_supported: ['header'],
    resource_name: 'PingOne helpdesk MCP server',
  };
  const authenticate = async (request: Request): Promise<AuthInfo | Response> => {
    const authorization = request.headers.get('authorization');
    if (authorization === null || authorization.trim() === '') return missingToken(resourceMetadataUrl, scopes.read);
    let authInfo: AuthInfo;
    try {
      authInfo = await verifyBearerToken(authorization, { verifier, resourceMetadataUrl, expectedResource: resource });
    } catch (error) {
      // The 401 names the read scope: what every operator needs first. Writes step up with a 403.
      return bearerAuthChallengeResponse(error, { requiredScopes: [scopes.read], resourceMetadataUrl });
    }
    // Authenticated but allowed nothing here: ask for the read scope rather than serve an empty list.
    if (!authInfo.scopes.includes(scopes.read) && !authInfo.scopes.includes(scopes.write)) return insufficientScope('read');
    return authInfo;
  };
  const insufficientScope = (access: ToolAccess): Response =>
    bearerAuthChallengeResponse(new OAuthError(OAuthErrorCode.InsufficientScope, `This call needs the ${access} scope.`), {
      requiredScopes: stepUpScopes(access, scopes),
      resourceMetadataUrl,
    });

  return {
    resource,
    issuer: settings.issuer,
    scopes,
    verifier,
    resourceMetadataUrl,
    metadataPaths,
    metadata,
    authenticate,
    metadataResponse: (request) => {
      const path = new URL(request.url).pathname.replace(/(.)\/$/, '$1');
      return metadataPaths.includes(path) ? metadataDocumentResponse(request, metadata) : undefined;
    },
    insufficientScope,
    operatorOf: operatorFromAuthInfo,
    warmUp: issuerKeys.warmUp,
  };
}

/**
 * The verifier settings for a tenant's configuration: `undefined` when OAuth
 * is off. The sandbox's come from `startSandboxOAuth` (sandbox/oauth), which
 * starts the authorization server whose issuer they name.
 */
export function resourceServerSettings(oauth: OAuthConfig): TokenVerifierSettings | undefined {
  switch (oauth.kind) {
    case 'off':
      return undefined;
    case 'issuer':
      return { issuer: oauth.issuer, resource: oauth.resource, policy: oauth.policy };
    case 'sandbox':
      throw new TypeError('resourceServerSettings: in the sandbox, use startSandboxOAuth from sandbox/oauth');
  }
}

/**
 * RFC 6750 §3.1: a request that brought no credentials gets a challenge without an error code —
 * `Bearer resource_metadata="…", scope="…"`, the form the MCP authorization spec shows. The SDK's
 * challenge always names an error, so this one case is written here. Both values are ours and
 * need no escaping: a URL's href has no quotes, and a scope token excludes `"` and `\`.
 */
function missingToken(resourceMetadataUrl: string, scope: string): Response {
  return Response.json(
    { error: 'invalid_token', error_description: 'This endpoint needs an OAuth access token.' },
    { status: 401, headers: { 'WWW-Authenticate': `Bearer resource_metadata="${resourceMetadataUrl}", scope="${scope}"` } },
  );
}

const METADATA_METHODS = 'GET, HEAD, OPTIONS';

function metadataDocumentResponse(request: Request, metadata: OAuthProtectedResourceMetadata): Response {
  const cors = { 'Access-Control-Allow-Origin': '*' };
  if (request.method === 'OPTIONS') {
    return new Response(null, { status: 204, headers: { ...cors, 'Access-Control-Allow-Methods': METADATA_METHODS, 'Access-Control-Allow-Headers': 'mcp-protocol-version' } });
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return Response.json({ error: 'method_not_allowed' }, { status: 405, headers: { ...cors, Allow: METADATA_METHODS } });
  }
  const response = Response.json(metadata, { headers: { ...cors, 'Cache-Control': 'public, max-age=3600' } });
  return request.method === 'HEAD' ? new Response(null, { status: 200, headers: response.headers }) : response;
}
