import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AuditLocationError, auditPathProblem, defaultAuditLogPath } from './audit/location.js';
import { parseUuid, type Uuid } from './ids.js';
import { SecretFileError, withSecretFiles, type SecretVariable } from './secretFiles.js';
import type { TokenAuthMethod } from './pingone/token.js';
import { identityKey } from './pingone/identity.js';
import { isToolName, TOOL_NAMES, type ToolName } from './toolNames.js';

/**
 * Start-up configuration, read from the environment (flags mirror a few of
 * the variables). Every problem becomes a ConfigError whose message is one
 * sentence naming the variable and the fix, and never a secret's value.
 * (Over 300 lines on purpose: every setting is read and explained in this one
 * file, in one block per concern, so `--help` and the README can be checked
 * against a single place.)
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const REGIONS = {
  NA: 'com',
  EU: 'eu',
  AP: 'asia',
  CA: 'ca',
  AU: 'com.au',
  SG: 'sg',
} as const;
export type RegionCode = keyof typeof REGIONS;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface PingOneSettings {
  environmentId: Uuid;
  authEnvironmentId: Uuid;
  clientId: string;
  clientSecret: string;
  /** API base including `/v1`, no trailing slash. */
  apiUrl: string;
  /** Auth base, no trailing slash; the token endpoint is `{authUrl}/{authEnvironmentId}/as/token`. */
  authUrl: string;
  tokenAuthMethod: TokenAuthMethod;
}

/** Where PingOne is: a real tenant, or the embedded emulator started in-process. */
export type Target = { kind: 'tenant'; pingone: PingOneSettings } | { kind: 'sandbox' };

export interface Config {
  target: Target;
  auditLogPath: string;
  logLevel: LogLevel;
  /** The person accountable for this server instance, recorded in every audit record. */
  operator?: string;
  /** Also copy every audit record to the operational log (stderr). */
  auditToStderr: boolean;
  guards: Guards;
  /** How long a shutdown lets calls in flight finish before it cancels them. */
  shutdownGraceMs: number;
  /** The OAuth resource server over HTTP (see OAuthConfig). */
  oauth: OAuthConfig;
  /** Set with --http: serve MCP over Streamable HTTP instead of stdio. */
  http?: HttpSettings;
  /** Seals confirmation state (PINGONE_MCP_CONFIRM_KEY); undefined: a random key per process. */
  confirmKey?: string;
  /** Shared state for replicas (audit trail, write limits, spent confirmations); undefined = file trail, in-process state. */
  database?: DatabaseSettings;
  calls: CallLimits;
}

/** How many tool calls run at once, and how many may wait for a turn; beyond that a call is refused at once. */
export interface CallLimits {
  maxConcurrent: number;
  /** Calls of one verified operator running at once (HTTP with OAuth), so that no one takes every turn. */
  maxConcurrentPerOperator: number;
  maxQueued: number;
}

export type ConfirmMode = 'auto' | 'always' | 'never';

/** What limits the write tools, whatever the agent asks. */
export interface Guards {
  /** Write tools are not offered at all. */
  readOnly: boolean;
  /** Tools offered, from PINGONE_MCP_TOOLS; undefined = all (read-only still wins). */
  tools: ReadonlySet<ToolName> | undefined;
  /** Writes only for users in these populations; undefined = any population. */
  allowedPopulations: ReadonlySet<string> | undefined;
  /** User IDs, usernames and emails that are never written, as identity keys (NFC, lower-cased). */
  protectedUsers: ReadonlySet<string>;
  maxWritesPerMinute: number;
  /** Per operator (each verified caller; one key on stdio); undefined = only the server-wide limit. */
  maxWritesPerOperatorPerMinute: number | undefined;
  confirm: ConfirmMode;
  requireReason: boolean;
}

export interface Flags {
  sandbox?: boolean;
  auditLog?: string;
  logLevel?: string;
  readOnly?: boolean;
  tools?: string;
  confirm?: string;
  http?: boolean;
}

function auditDefault(env: NodeJS.ProcessEnv, sandbox: boolean): string {
  try {
    return defaultAuditLogPath({ env, sandbox });
  } catch (error) {
    if (error instanceof AuditLocationError) throw new ConfigError(error.message);
    throw error;
  }
}

const SANDBOX_HINT = 'or run with --sandbox to try the server without a tenant';

export function loadConfig(rawEnv: NodeJS.ProcessEnv, flags: Flags = {}): Config {
  let env: NodeJS.ProcessEnv;
  try {
    env = withSecretFiles(rawEnv);
  } catch (error) {
    if (error instanceof SecretFileError) throw new ConfigError(error.message);
    throw error;
  }
  const sandbox = flags.sandbox === true;
  const logLevel = oneOf(flags.logLevel === undefined ? 'PINGONE_MCP_LOG_LEVEL' : '--log-level', flags.logLevel ?? nonEmpty(env.PINGONE_MCP_LOG_LEVEL) ?? 'info', LOG_LEVELS);
  const auditLogPath = flags.auditLog ?? nonEmpty(env.PINGONE_MCP_AUDIT_LOG) ?? auditDefault(env, sandbox);
  const auditProblem = auditPathProblem(auditLogPath);
  if (auditProblem !== undefined) throw new ConfigError(auditProblem);
  const operator = nonEmpty(env.PINGONE_MCP_OPERATOR);
  if (operator !== undefined && (operator.length > 200 || /[\u0000-\u001f\u007f]/.test(operator))) {
    throw new ConfigError('PINGONE_MCP_OPERATOR must be a name or email of at most 200 characters without control characters.');
  }
  const auditToStderr = bool(env, 'PINGONE_MCP_AUDIT_STDERR', false);
  const guards = loadGuards(env, flags);
  const grace = nonEmpty(env.PINGONE_MCP_SHUTDOWN_GRACE_MS) ?? '10000';
  if (!/^\d{1,6}$/.test(grace) || Number(grace) > 600_000) {
    throw new ConfigError(`PINGONE_MCP_SHUTDOWN_GRACE_MS must be whole milliseconds from 0 to 600000; got "${grace.slice(0, 20)}".`);
  }
  const maxConcurrent = wholeNumber(env, 'PINGONE_MCP_MAX_CONCURRENT_CALLS', 16, 1, 10_000);
  const calls = {
    maxConcurrent,
    // A quarter of the turns by default: one busy operator (or a runaway agent) leaves room for the others.
    maxConcurrentPerOperator: Math.min(maxConcurrent, wholeNumber(env, 'PINGONE_MCP_MAX_CONCURRENT_CALLS_PER_OPERATOR', Math.ceil(maxConcurrent / 4), 1, 10_000)),
    maxQueued: wholeNumber(env, 'PINGONE_MCP_MAX_QUEUED_CALLS', 256, 0, 100_000),
  };
  const confirmKey = loadConfirmKey(env);
  const database = loadDatabaseSettings(env);
  const target: Target = sandbox ? { kind: 'sandbox' } : { kind: 'tenant', pingone: loadPingOneSettings(env) };
  const oauth = loadOAuthConfig(env, target);
  const http = flags.http === true || bool(env, 'PINGONE_MCP_HTTP', false) ? loadHttpSettings(env, oauth) : undefined;
  const common = {
    auditLogPath,
    logLevel,
    auditToStderr,
    guards,
    calls,
    shutdownGraceMs: Number(grace),
    ...(operator === undefined ? {} : { operator }),
    ...(http === undefined ? {} : { http }),
    ...(confirmKey === undefined ? {} : { confirmKey }),
    ...(database === undefined ? {} : { database }),
  };
  return { target, ...common, oauth };
}

function loadPingOneSettings(env: NodeJS.ProcessEnv): PingOneSettings {
  const environmentId = requiredUuid(env, 'PINGONE_ENVIRONMENT_ID', 'the ID of the PingOne environment whose users this server manages');
  const authEnvironmentId =
    nonEmpty(env.PINGONE_AUTH_ENVIRONMENT_ID) === undefined
      ? environmentId
      : requiredUuid(env, 'PINGONE_AUTH_ENVIRONMENT_ID', 'the ID of the environment that holds the worker app');
  const clientId = nonEmpty(env.PINGONE_CLIENT_ID);
  if (clientId === undefined) {
    throw new ConfigError(`PINGONE_CLIENT_ID is not set: set it to the worker app's client ID, ${SANDBOX_HINT}.`);
  }
  if (/\s/.test(clientId)) throw new ConfigError('PINGONE_CLIENT_ID contains whitespace: copy the client ID again from the worker app.');
  const clientSecret = env.PINGONE_CLIENT_SECRET;
  if (clientSecret === undefined || clientSecret.trim() === '') {
    throw new ConfigError(`PINGONE_CLIENT_SECRET is not set: set it to the worker app's client secret, ${SANDBOX_HINT}.`);
  }
  const region = oneOf('PINGONE_REGION_CODE', (nonEmpty(env.PINGONE_REGION_CODE) ?? 'NA').toUpperCase(), Object.keys(REGIONS) as RegionCode[]);
  const tld = REGIONS[region];
  const tokenAuthMethod = oneOf(
    'PINGONE_TOKEN_AUTH_METHOD',
    (nonEmpty(env.PINGONE_TOKEN_AUTH_METHOD) ?? 'client_secret_basic').toLowerCase(),
    ['client_secret_basic', 'client_secret_post'] as const,
  );
  return {
    environmentId,
    authEnvironmentId,
    clientId,
    clientSecret,
    apiUrl: baseUrl('PINGONE_API_URL', nonEmpty(env.PINGONE_API_URL) ?? `https://api.pingone.${tld}/v1`),
    authUrl: baseUrl('PINGONE_AUTH_URL', nonEmpty(env.PINGONE_AUTH_URL) ?? `https://auth.pingone.${tld}`),
    tokenAuthMethod,
  };
}

function loadGuards(env: NodeJS.ProcessEnv, flags: Flags): Guards {
  const readOnly = flags.readOnly === true || bool(env, 'PINGONE_MCP_READ_ONLY', false);
  // Errors name what the person typed: the flag when it was given, else the variable.
  const toolsSource = flags.tools === undefined ? 'PINGONE_MCP_TOOLS' : '--tools';
  const toolList = list(flags.tools ?? env.PINGONE_MCP_TOOLS);
  const unknown = toolList?.filter((name) => !isToolName(name));
  if (unknown && unknown.length > 0) {
    throw new ConfigError(`${toolsSource} names unknown tools (${unknown.join(', ').slice(0, 120)}): use names from ${TOOL_NAMES.join(', ')}.`);
  }
  if (toolList && toolList.length === 0) throw new ConfigError(`${toolsSource} is empty: list tools from ${TOOL_NAMES.join(', ')}, or unset it to offer all.`);
  const populations = list(env.PINGONE_MCP_ALLOWED_POPULATIONS);
  const badPopulation = populations?.find((id) => parseUuid(id) === undefined);
  if (badPopulation !== undefined) {
    throw new ConfigError(`PINGONE_MCP_ALLOWED_POPULATIONS must be population IDs (UUIDs) separated by commas; "${badPopulation.slice(0, 40)}" is not one.`);
  }
  if (populations && populations.length === 0) {
    throw new ConfigError('PINGONE_MCP_ALLOWED_POPULATIONS is empty: list population IDs, or unset it to allow writes in every population.');
  }
  const perOperator = nonEmpty(env.PINGONE_MCP_MAX_WRITES_PER_OPERATOR_PER_MINUTE);
  const protectedUsers = list(env.PINGONE_MCP_PROTECTED_USERS) ?? [];
  return {
    readOnly,
    tools: toolList === undefined ? undefined : new Set(toolList as ToolName[]),
    allowedPopulations: populations === undefined ? undefined : new Set(populations.map((id) => id.toLowerCase())),
    protectedUsers: new Set(protectedUsers.map(identityKey)),
    maxWritesPerMinute: wholeNumber(env, 'PINGONE_MCP_MAX_WRITES_PER_MINUTE', 10, 1, 999_999),
    maxWritesPerOperatorPerMinute: perOperator === undefined ? undefined : wholeNumber(env, 'PINGONE_MCP_MAX_WRITES_PER_OPERATOR_PER_MINUTE', 0, 1, 999_999),
    confirm: oneOf(flags.confirm === undefined ? 'PINGONE_MCP_CONFIRM' : '--confirm', (flags.confirm ?? nonEmpty(env.PINGONE_MCP_CONFIRM) ?? 'auto').toLowerCase(), ['auto', 'always', 'never'] as const),
    requireReason: bool(env, 'PINGONE_MCP_REQUIRE_REASON', false),
  };
}

/** A comma-separated list; undefined when the variable is unset or blank. */
function list(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const value = nonEmpty(env[name]);
  if (value === undefined) return fallback;
  return oneOf(name, value.toLowerCase(), ['true', 'false'] as const) === 'true';
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === '' ? undefined : trimmed;
}

function requiredUuid(env: NodeJS.ProcessEnv, name: string, meaning: string): Uuid {
  const value = nonEmpty(env[name]);
  if (value === undefined) throw new ConfigError(`${name} is not set: set it to ${meaning}, ${SANDBOX_HINT}.`);
  const id = parseUuid(value);
  if (id === undefined) {
    throw new ConfigError(`${name} is not a UUID: set it to ${meaning} (8-4-4-4-12 hex digits, as shown in the PingOne admin console).`);
  }
  return id;
}

function oneOf<const T extends string>(name: string, value: string, allowed: readonly T[]): T {
  const result = z.enum(allowed as [T, ...T[]]).safeParse(value);
  if (!result.success) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}; got "${value.slice(0, 40)}".`);
  return result.data;
}

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** A base URL: https (plain http only for loopback, e.g. the emulator), no credentials, query or fragment. */
function baseUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a URL: set it to an https:// base URL such as https://api.pingone.eu/v1.`);
  }
  const loopback = LOOPBACK_HOSTS.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError(`${name} must use https:// (plain http:// is accepted only for localhost and 127.0.0.1).`);
  }
  // An empty `?` or `#` leaves search/hash empty but stays in href, where it would swallow the path we append.
  if (url.username || url.password || url.search || url.hash || /[?#]/.test(url.href)) {
    throw new ConfigError(`${name} must be a plain base URL without credentials, query or fragment.`);
  }
  return url.href.replace(/\/+$/, '');
}

// ---------------------------------------------------------------------------
// OAuth resource server (HTTP mode). One block, so that it merges cleanly.
// ---------------------------------------------------------------------------

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

function loadOAuthConfig(env: NodeJS.ProcessEnv, target: Target): OAuthConfig {
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
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.test(url.hostname))) {
    throw new ConfigError(`${name} must use https:// (plain http:// is accepted only for localhost and 127.0.0.1).`);
  }
  if (url.username || url.password || url.search || url.hash || /[?#]/.test(value)) {
    throw new ConfigError(`${name} must be a plain URL without credentials, query or fragment, such as ${example}.`);
  }
  return url;
}

// ---- Serving over HTTP (--http) and the confirmation key -------------------------------------
// One block, kept together: what the Streamable HTTP listener in src/http/ is configured with.

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

const LOOPBACK_ADDRESSES = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_ADDRESSES.test(host);
}

/**
 * The listener's settings. OAuth is on exactly when `oauth` says so (a tenant
 * issuer, or the sandbox's own authorization server); PINGONE_MCP_RESOURCE was
 * read and checked by the OAuth block, and only its path is taken here.
 */
function loadHttpSettings(env: NodeJS.ProcessEnv, oauth: OAuthConfig): HttpSettings {
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

function loadConfirmKey(env: NodeJS.ProcessEnv): string | undefined {
  const key = env.PINGONE_MCP_CONFIRM_KEY;
  if (key === undefined || key.trim() === '') return undefined;
  if (Buffer.byteLength(key, 'utf8') < 32) {
    throw new ConfigError('PINGONE_MCP_CONFIRM_KEY must be at least 32 bytes of random text (for example the output of `openssl rand -base64 32`).');
  }
  return key;
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = nonEmpty(env[name]);
  if (text === undefined) return fallback;
  if (!/^\d{1,6}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}; got "${text.slice(0, 20)}".`);
  }
  return Number(text);
}

function pemFile(name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${name} names a file that cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}): give the path of a PEM file this user may read.`);
  }
}

// ---- Database (replicas share the audit trail, limits and confirmations) ----

export interface DatabaseSettings {
  /** postgres:// or postgresql:// URL of the runtime role; a secret (it may hold a password): never logged. */
  url: string;
}

/**
 * PINGONE_MCP_DATABASE_URL, or PINGONE_MCP_DATABASE_URL_FILE (a file holding it,
 * the container convention). With a database, PINGONE_MCP_CONFIRM_KEY is
 * required: each replica must open the sealed questions the others asked.
 */
export function loadDatabaseSettings(env: NodeJS.ProcessEnv): DatabaseSettings | undefined {
  const url = databaseUrlFromEnv(env);
  if (url === undefined) return undefined;
  if (secretSetting(env, 'PINGONE_MCP_CONFIRM_KEY') === undefined) {
    throw new ConfigError(
      'PINGONE_MCP_CONFIRM_KEY is not set: with PINGONE_MCP_DATABASE_URL every replica must share one confirmation key (set it, or PINGONE_MCP_CONFIRM_KEY_FILE, to the same secret on each).',
    );
  }
  return { url };
}

/** PINGONE_MCP_DATABASE_URL or its _FILE, checked to be a PostgreSQL URL; undefined when neither is set. */
export function databaseUrlFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const url = secretSetting(env, 'PINGONE_MCP_DATABASE_URL');
  return url === undefined ? undefined : checkDatabaseUrl(url, 'PINGONE_MCP_DATABASE_URL');
}

/** The URL when it is a postgres:// one; a ConfigError naming `source` (never the URL: it may hold a password) otherwise. */
export function checkDatabaseUrl(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${source} is not a URL: set it to postgres://USER@HOST:PORT/DATABASE (the password may go in PGPASSWORD).`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(`${source} must start with postgres:// or postgresql://.`);
  }
  return url;
}

/** A secret from NAME or, through withSecretFiles, the file NAME_FILE names. */
function secretSetting(env: NodeJS.ProcessEnv, name: SecretVariable): string | undefined {
  let resolved: NodeJS.ProcessEnv;
  try {
    resolved = withSecretFiles(env, [name]);
  } catch (error) {
    if (error instanceof SecretFileError) throw new ConfigError(error.message);
    throw error;
  }
  return nonEmpty(resolved[name]);
}
