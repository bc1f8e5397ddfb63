import { readFileSync } from 'node:fs';
import type { OAuthConfig } from './oauth.js';
import { bool, ConfigError, isLoopbackHost, nonEmpty, wholeNumber } from './values.js';

/** Serving over HTTP (--http): what the Streamable HTTP listener in src/http/ is configured with, and the confirmation key. */

export interface HttpSettings {
  /** Address to listen on (PINGONE_MCP_HTTP_HOST). */
  host: string;
  port: number;
  /**
   * Where MCP is served: the path of PINGONE_MCP_RESOURCE. Whether tokens are
   * checked, and for which audience, is `Config.oauth`'s to say, not this block's.
   */
  path: string;
  /** Honour X-Forwarded-For/-Proto from a reverse proxy (PINGONE_MCP_TRUST_PROXY). */
  trustProxy: boolean;
  /** Native TLS; otherwise plain HTTP, usually behind a TLS-terminating proxy. */
  tls: { cert: Buffer; key: Buffer } | undefined;
  /** /metrics on its own listener (loopback) instead of beside MCP behind the same gate. */
  metricsPort: number | undefined;
  /** Where that listener binds (PINGONE_MCP_METRICS_HOST): loopback only, since it checks no token. */
  metricsHost: string;
  /** 2025-era sessions held at once, and how long an unused one lives. */
  maxSessions: number;
  sessionIdleMs: number;
}

/**
 * The listener's settings. OAuth is on exactly when `oauth` says so (a tenant
 * issuer, or the sandbox's own authorization server); PINGONE_MCP_RESOURCE was
 * read and checked by the OAuth block, and only its path is taken here.
 */
export function loadHttpSettings(env: NodeJS.ProcessEnv, oauth: OAuthConfig): HttpSettings {
  const host = nonEmpty(env.PINGONE_MCP_HTTP_HOST) ?? '127.0.0.1';
  if (/[\s/]/.test(host) || host.length > 255) throw new ConfigError('PINGONE_MCP_HTTP_HOST must be an address or host name to listen on, such as 127.0.0.1 or 0.0.0.0.');
  const port = wholeNumber(env, 'PINGONE_MCP_HTTP_PORT', 8080, 0, 65_535);
  const resource = oauth.kind === 'off' ? undefined : oauth.resource;
  const path = resource === undefined ? (nonEmpty(env.PINGONE_MCP_RESOURCE) ?? '/mcp') : new URL(resource).pathname;
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(path) || path.includes('//') || path.startsWith('/.well-known') || ['/healthz', '/readyz', '/metrics'].includes(path)) {
    throw new ConfigError(`PINGONE_MCP_RESOURCE's path must be a plain path such as /mcp, not "${path.slice(0, 40)}".`);
  }
  // No unauthenticated network mode: only a real issuer's tokens authenticate anyone (the sandbox's server signs in whoever asks).
  if (oauth.kind !== 'issuer' && !isLoopbackHost(host)) {
    throw new ConfigError(
      oauth.kind === 'sandbox'
        ? `PINGONE_MCP_HTTP_HOST=${host} is reachable from the network, and the sandbox's authorization server signs in anyone who asks: listen on 127.0.0.1, or serve a tenant with PINGONE_MCP_RESOURCE set.`
        : `PINGONE_MCP_HTTP_HOST=${host} is reachable from the network, and OAuth is not configured: set PINGONE_MCP_RESOURCE to the endpoint's public https:// URL (every request then needs a token), or listen on 127.0.0.1.`,
    );
  }
  const certFile = nonEmpty(env.PINGONE_MCP_TLS_CERT);
  const keyFile = nonEmpty(env.PINGONE_MCP_TLS_KEY);
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError('PINGONE_MCP_TLS_CERT and PINGONE_MCP_TLS_KEY go together: set both (PEM files) or neither.');
  const tls = certFile !== undefined && keyFile !== undefined ? { cert: pemFile('PINGONE_MCP_TLS_CERT', certFile), key: pemFile('PINGONE_MCP_TLS_KEY', keyFile) } : undefined;
  const metricsPortText = nonEmpty(env.PINGONE_MCP_METRICS_PORT);
  const metricsHost = nonEmpty(env.PINGONE_MCP_METRICS_HOST) ?? '127.0.0.1';
  // The separate metrics listener has no token check: it may only be reachable from this machine.
  if (!isLoopbackHost(metricsHost)) {
    throw new ConfigError(
      `PINGONE_MCP_METRICS_HOST=${metricsHost.slice(0, 60)} would serve /metrics to the network without authentication: keep it on 127.0.0.1 (a scraper on the same host or pod), or leave PINGONE_MCP_METRICS_PORT unset so /metrics is served on the MCP port behind the bearer token.`,
    );
  }
  return {
    host,
    port,
    path,
    trustProxy: bool(env, 'PINGONE_MCP_TRUST_PROXY', false),
    tls,
    metricsPort: metricsPortText === undefined ? undefined : wholeNumber(env, 'PINGONE_MCP_METRICS_PORT', 0, 0, 65_535),
    metricsHost,
    maxSessions: wholeNumber(env, 'PINGONE_MCP_HTTP_MAX_SESSIONS', 1000, 1, 100_000),
    sessionIdleMs: wholeNumber(env, 'PINGONE_MCP_HTTP_SESSION_IDLE_SECONDS', 1800, 10, 86_400) * 1000,
  };
}

export function loadConfirmKey(env: NodeJS.ProcessEnv): string | undefined {
  const key = env.PINGONE_MCP_CONFIRM_KEY;
  if (key === undefined || key.trim() === '') return undefined;
  if (Buffer.byteLength(key, 'utf8') < 32) {
    throw new ConfigError('PINGONE_MCP_CONFIRM_KEY must be at least 32 bytes of random text (for example the output of `openssl rand -base64 32`).');
  }
  return key;
}

function pemFile(name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${name} names a file that cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}): give the path of a PEM file this user may read.`);
  }
}
