import type { IncomingMessage } from 'node:http';
import {
  bearerAuthChallengeResponse,
  getOAuthProtectedResourceMetadataUrl,
  localhostAllowedHostnames,
  validateHostHeader,
  validateOriginHeader,
  verifyBearerToken,
  type AuthInfo,
  type OAuthProtectedResourceMetadata,
  type OAuthTokenVerifier,
} from '@modelcontextprotocol/server';
import { safeText } from '../text/untrusted.js';
import { jsonRpcError } from './sessions.js';

/**
 * How the MCP endpoint authenticates callers when OAuth is configured. The
 * verifier is the one seam: anything implementing the SDK's
 * `OAuthTokenVerifier` (src/auth/ provides the JWT one) plugs in here.
 */
export interface HttpAuth {
  verifier: OAuthTokenVerifier;
  /** The Protected Resource Metadata document (RFC 9728) served at the well-known paths. */
  resourceMetadata: OAuthProtectedResourceMetadata;
  /** Scopes every MCP request needs (the read scope); named in the 401 challenge. */
  requiredScopes: string[];
}

/** What is checked on the headers of every MCP request, before its body is read. */
export interface RequestGuard {
  /** The verified caller (undefined without OAuth), or the refusal to send. */
  check(req: IncomingMessage): Promise<{ ok: true; authInfo: AuthInfo | undefined } | { ok: false; response: Response }>;
  /** Where the Protected Resource Metadata is served (absolute URL), when OAuth is on. */
  readonly resourceMetadataUrl: string | undefined;
  /** The document itself, when OAuth is on. */
  readonly resourceMetadata: OAuthProtectedResourceMetadata | undefined;
}

export function createRequestGuard(options: {
  /** The endpoint's public URL (OAuth audience); its host joins the loopback names as an allowed Host. */
  resourceUrl: URL | undefined;
  auth: HttpAuth | undefined;
  trustProxy: boolean;
}): RequestGuard {
  // DNS rebinding: a browser page on another site resolving its own name to us sends its own Host and Origin.
  const allowed = [...localhostAllowedHostnames(), ...(options.resourceUrl ? [options.resourceUrl.hostname] : [])];
  const { auth, resourceUrl } = options;
  const resourceMetadataUrl = resourceUrl && auth ? getOAuthProtectedResourceMetadataUrl(resourceUrl) : undefined;
  return {
    resourceMetadataUrl,
    resourceMetadata: auth?.resourceMetadata,
    async check(req) {
      const host = validateHostHeader(hostOf(req, options.trustProxy), allowed);
      if (!host.ok) return { ok: false, response: jsonRpcError(403, -32000, 'Forbidden: this Host is not served here.') };
      const origin = validateOriginHeader(single(req.headers.origin), allowed);
      if (!origin.ok) return { ok: false, response: jsonRpcError(403, -32000, 'Forbidden: requests from this Origin are not accepted.') };
      if (auth === undefined) return { ok: true, authInfo: undefined };
      const bearer = {
        verifier: auth.verifier,
        requiredScopes: auth.requiredScopes,
        ...(resourceMetadataUrl === undefined ? {} : { resourceMetadataUrl }),
        ...(resourceUrl === undefined ? {} : { expectedResource: resourceUrl }),
      };
      try {
        // One Authorization value only: a second one (folded into a list) is not a token we verify.
        const [authorization] = (single(req.headers.authorization) ?? '').split(',');
        return { ok: true, authInfo: await verifyBearerToken(authorization || undefined, bearer) };
      } catch (error) {
        return { ok: false, response: bearerAuthChallengeResponse(error, bearer) };
      }
    },
  };
}

/** The Host the client asked for: the proxy's X-Forwarded-Host only when the proxy is trusted. */
function hostOf(req: IncomingMessage, trustProxy: boolean): string | undefined {
  const forwarded = trustProxy ? single(req.headers['x-forwarded-host'])?.split(',')[0]?.trim() : undefined;
  return forwarded || single(req.headers.host);
}

/** The address of the caller, for logs: the first X-Forwarded-For hop only when the proxy is trusted. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string | undefined {
  const forwarded = trustProxy ? single(req.headers['x-forwarded-for'])?.split(',')[0]?.trim() : undefined;
  const address = forwarded || req.socket.remoteAddress;
  // A forwarded address is the caller's text (node reads header bytes as Latin-1, C1 controls included).
  return address === undefined ? undefined : safeText(address, 64);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
