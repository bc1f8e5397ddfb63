/**
 * Start-up configuration, read from the environment (flags mirror a few of
 * the variables): the whole Config and the settings of the core (log, audit,
 * guards, call limits). Each other concern reads its own block in config/:
 * PingOne, OAuth, HTTP, the database. Every problem becomes a ConfigError
 * whose message is one sentence naming the variable and the fix, and never a
 * secret's value.
 */
import { AuditLocationError, auditPathProblem, defaultAuditLogPath } from './audit/location.js';
import { parseUuid } from './ids.js';
import { identityKey } from './pingone/identity.js';
import { SecretFileError, withSecretFiles } from './secretFiles.js';
import { isToolName, TOOL_NAMES, type ToolName } from './toolNames.js';
import { loadDatabaseSettings, type DatabaseSettings } from './config/database.js';
import { loadConfirmKey, loadHttpSettings, type HttpSettings } from './config/http.js';
import { loadOAuthConfig, type OAuthConfig } from './config/oauth.js';
import { loadPingOneSettings, type Target } from './config/pingone.js';
import { bool, ConfigError, list, nonEmpty, oneOf, wholeNumber } from './config/values.js';

export { ConfigError, isLoopbackHost } from './config/values.js';
export { REGIONS, type PingOneSettings, type RegionCode, type Target } from './config/pingone.js';
export type { OAuthConfig, OAuthPolicy, ScopeNames } from './config/oauth.js';
export type { HttpSettings } from './config/http.js';
export { checkDatabaseUrl, databaseUrlFromEnv, loadDatabaseSettings, type DatabaseSettings } from './config/database.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

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
  return {
    target,
    auditLogPath,
    logLevel,
    auditToStderr,
    guards,
    calls,
    shutdownGraceMs: Number(grace),
    oauth,
    ...(operator === undefined ? {} : { operator }),
    ...(http === undefined ? {} : { http }),
    ...(confirmKey === undefined ? {} : { confirmKey }),
    ...(database === undefined ? {} : { database }),
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
