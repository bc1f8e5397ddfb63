import type { Target } from './pingone.js';
import { ConfigError, isLoopbackHost, list, nonEmpty } from './values.js';

/** The OAuth resource server over HTTP: whose tokens are accepted, for which resource, with which scopes. */

/** The scope names a token must carry for each kind of tool. */
export interface ScopeNames {
  readonly read: string;
  readonly write: string;
}

/** How verified tokens become operators, whoever the issuer is. */
export interface OAuthPolicy {
  readonly scopes: ScopeNames;
  /** Claims tried in order for the operator's display name; `sub` always ends the list. */
  readonly displayNameClaims: readonly string[];
  /** Longest accepted token lifetime (`exp - iat`), so that removing a scope takes effect soon. */
  readonly maxTokenLifetimeSeconds: number;
}

/**
 * - `off`: PINGONE_MCP_RESOURCE is unset: no tokens are checked, so HTTP may listen on loopback only.
 * - `issuer`: tokens from `issuer` for `resource` (the public URL of the MCP endpoint, RFC 8707).
 * - `sandbox`: the embedded authorization server issues the tokens; its issuer is known once it
 *   listens, and the resource is PINGONE_MCP_RESOURCE or, when unset, the listener's own URL.
 */
export type OAuthConfig =
  | { readonly kind: 'off'; readonly policy: OAuthPolicy }
  | { readonly kind: 'issuer'; readonly issuer: string; readonly resource: string; readonly policy: OAuthPolicy }
  | { readonly kind: 'sandbox'; readonly resource?: string; readonly policy: OAuthPolicy; readonly sandboxOperator?: string };

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/;
const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;

export function loadOAuthConfig(env: NodeJS.ProcessEnv, target: Target): OAuthConfig {
  const read = scopeName(env, 'PINGONE_MCP_READ_SCOPE', 'helpdesk:read');
  const write = scopeName(env, 'PINGONE_MCP_WRITE_SCOPE', 'helpdesk:write');
  if (read === write) {
    throw new ConfigError(`PINGONE_MCP_READ_SCOPE and PINGONE_MCP_WRITE_SCOPE are both "${read}": give the write scope its own name, or read-only operators could write.`);
  }
  const claims = list(env.PINGONE_MCP_OPERATOR_NAME_CLAIM) ?? ['preferred_username', 'email'];
  const badClaim = claims.find((claim) => !CLAIM_NAME.test(claim));
  if (badClaim !== undefined) {
    throw new ConfigError(`PINGONE_MCP_OPERATOR_NAME_CLAIM must be claim names separated by commas (such as preferred_username,email); "${badClaim.slice(0, 40)}" is not one.`);
  }
  const lifetime = nonEmpty(env.PINGONE_MCP_MAX_TOKEN_LIFETIME_SECONDS) ?? '3600';
  if (!/^\d{1,6}$/.test(lifetime) || Number(lifetime) < 60 || Number(lifetime) > 86_400) {
    throw new ConfigError(`PINGONE_MCP_MAX_TOKEN_LIFETIME_SECONDS must be whole seconds from 60 to 86400; got "${lifetime.slice(0, 20)}".`);
  }
  const policy: OAuthPolicy = {
    scopes: { read, write },
    displayNameClaims: [...new Set([...claims.filter((claim) => claim !== 'sub'), 'sub'])],
    maxTokenLifetimeSeconds: Number(lifetime),
  };
  const resourceText = nonEmpty(env.PINGONE_MCP_RESOURCE);
  // A bare path (/mcp) only says where HTTP serves MCP: no public URL, so no audience to check tokens against.
  const resource = resourceText === undefined || resourceText.startsWith('/') ? undefined : resourceUrl(resourceText);
  const issuerText = nonEmpty(env.PINGONE_MCP_OAUTH_ISSUER);
  if (target.kind === 'sandbox') {
    const sandboxOperator = nonEmpty(env.PINGONE_MCP_SANDBOX_OPERATOR);
    if (sandboxOperator !== undefined && !/^[a-z0-9._-]{1,40}$/.test(sandboxOperator)) {
      throw new ConfigError('PINGONE_MCP_SANDBOX_OPERATOR must be the username of a sandbox operator, such as bsmith or ops1.');
    }
    return { kind: 'sandbox', policy, ...(resource === undefined ? {} : { resource }), ...(sandboxOperator === undefined ? {} : { sandboxOperator }) };
  }
  if (resource === undefined) {
    if (issuerText !== undefined) {
      throw new ConfigError('PINGONE_MCP_OAUTH_ISSUER is set but PINGONE_MCP_RESOURCE is not: set PINGONE_MCP_RESOURCE to the public URL of the MCP endpoint, such as https://helpdesk-mcp.example.com/mcp.');
    }
    return { kind: 'off', policy };
  }
  const { authUrl, authEnvironmentId } = target.pingone;
  const issuer = issuerText === undefined ? `${authUrl}/${authEnvironmentId}/as` : issuerUrl(issuerText);
  return { kind: 'issuer', issuer, resource, policy };
}

function scopeName(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = nonEmpty(env[name]) ?? fallback;
  if (!SCOPE_TOKEN.test(value)) {
    throw new ConfigError(`${name} must be one OAuth scope name without spaces or quotes (such as ${fallback}); got "${value.slice(0, 40)}".`);
  }
  return value;
}

/** The public URL of the MCP endpoint: https (http only on loopback), no credentials, query or fragment. */
function resourceUrl(value: string): string {
  const url = httpUrl('PINGONE_MCP_RESOURCE', value, 'https://helpdesk-mcp.example.com/mcp');
  if (url.pathname === '/') {
    throw new ConfigError('PINGONE_MCP_RESOURCE needs the path of the MCP endpoint, such as https://helpdesk-mcp.example.com/mcp.');
  }
  return url.href;
}

/** An issuer is compared with `iss` exactly, so it is kept exactly as written. */
function issuerUrl(value: string): string {
  httpUrl('PINGONE_MCP_OAUTH_ISSUER', value, 'https://auth.pingone.com/<environment-id>/as');
  return value;
}

function httpUrl(name: string, value: string, example: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a URL: set it to an https:// URL such as ${example}.`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ConfigError(`${name} must use https:// (plain http:// is accepted only for localhost and 127.0.0.1).`);
  }
  if (url.username || url.password || url.search || url.hash || /[?#]/.test(value)) {
    throw new ConfigError(`${name} must be a plain URL without credentials, query or fragment, such as ${example}.`);
  }
  return url;
}
