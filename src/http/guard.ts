import type { IncomingMessage } from 'node:http';
import { localhostAllowedHostnames, validateHostHeader, validateOriginHeader, type AuthInfo } from '@modelcontextprotocol/server';
import type { ResourceServer } from '../auth/resourceServer.js';
import { safeText } from '../text/untrusted.js';
import { jsonRpcError } from './sessions.js';

/**
 * What the listener needs of the OAuth resource server (src/auth/): the
 * endpoint's canonical URL, the bearer check with its 401/403 challenges, and
 * the Protected Resource Metadata. The challenges are written there only.
 */
export type HttpAuth = Pick<ResourceServer, 'resource' | 'authenticate' | 'metadataResponse'>;

/** What is checked on the headers of every MCP request, before its body is read. */
export interface RequestGuard {
  /** The verified caller (undefined without OAuth), or the refusal to send. */
  check(req: IncomingMessage): Promise<{ ok: true; authInfo: AuthInfo | undefined } | { ok: false; response: Response }>;
  /** The Protected Resource Metadata answer when OAuth is on and the request asks for it; undefined otherwise. */
  metadata(req: IncomingMessage): Response | undefined;
}

export function createRequestGuard(options: { auth: HttpAuth | undefined; trustProxy: boolean }): RequestGuard {
  const { auth, trustProxy } = options;
  // DNS rebinding: a browser page on another site resolving its own name to us sends its own Host and Origin.
  const allowed = [...localhostAllowedHostnames(), ...(auth ? [auth.resource.hostname] : [])];
  return {
    // Only the well-known paths can be the metadata; every other request skips building a Request for it.
    metadata: (req) => (req.url?.startsWith('/.well-known/') ? auth?.metadataResponse(headersOnly(req, auth.resource)) : undefined),
    async check(req) {
      const host = validateHostHeader(hostOf(req, trustProxy), allowed);
      if (!host.ok) return { ok: false, response: jsonRpcError(403, -32000, 'Forbidden: this Host is not served here.') };
      const origin = validateOriginHeader(single(req.headers.origin), allowed);
      if (!origin.ok) return { ok: false, response: jsonRpcError(403, -32000, 'Forbidden: requests from this Origin are not accepted.') };
      if (auth === undefined) return { ok: true, authInfo: undefined };
      const verified = await auth.authenticate(headersOnly(req, auth.resource));
      return verified instanceof Response ? { ok: false, response: verified } : { ok: true, authInfo: verified };
    },
  };
}

/** The request line and headers as a web Request (no body: the guard decides before the body is read). */
function headersOnly(req: IncomingMessage, resource: URL): Request {
  // As name-value pairs: the Request copies them into headers of its own, so a Headers built here would be built twice.
  const headers: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.push([name, value]);
    else if (Array.isArray(value) && value[0] !== undefined) headers.push([name, value[0]]);
  }
  const method = req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS' ? req.method : 'POST';
  const target = req.url ?? '/';
  return new Request(URL.canParse(target, resource.origin) ? new URL(target, resource.origin) : resource, { method, headers });
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
