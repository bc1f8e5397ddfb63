import postgres from 'postgres';

/**
 * Connections to the shared PostgreSQL database, and what its failures mean
 * in a sentence. The driver (postgres.js) reconnects by itself: a query after
 * the database came back opens a fresh connection, so no restart is needed.
 */
export type Sql = postgres.Sql;

/** Every table and function this server owns lives in this schema. */
export const SCHEMA = 'pingone_mcp';

export interface ConnectOptions {
  /** Most connections this process opens. */
  max?: number;
  /** Where the database's notices go (never stdout: it carries MCP). */
  onNotice?: (message: string) => void;
  /** What the connection says it is in pg_stat_activity. */
  applicationName?: string;
}

/** How long one statement (an append waiting for the chain's lock included) may take before it is refused. */
export const STATEMENT_TIMEOUT_MS = 10_000;

export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    connect_timeout: 5,
    idle_timeout: 60,
    // int8 (seq, counts) as strings is the driver's default; we convert where read.
    onnotice: (notice) => options.onNotice?.(String(notice.message ?? '')),
    connection: {
      application_name: options.applicationName ?? 'pingone-helpdesk-mcp',
      // Durable before the PingOne write, whatever the server's default says.
      synchronous_commit: 'on',
      statement_timeout: STATEMENT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: 30_000,
    },
  });
}

/** The database's place without credentials, for messages: `host:port/database`. */
export function describeLocation(url: string): string {
  try {
    const parsed = new URL(url);
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || '(default database)';
    return `${parsed.hostname || 'localhost'}${parsed.port ? `:${parsed.port}` : ''}/${database}`;
  } catch {
    return 'the configured database';
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/** PostgreSQL error codes (SQLSTATE) that an operator can act on, in words. */
const SQLSTATE_REASONS: Readonly<Record<string, string>> = {
  '25006': 'the database is read-only (a standby, or default_transaction_read_only is on)',
  '57P01': 'the database server is shutting down',
  '57P02': 'the database server crashed',
  '57P03': 'the database server is starting up or shutting down',
  '53100': 'the database server has no disk space left',
  '53200': 'the database server is out of memory',
  '53300': 'the database server has too many connections',
  '57014': `the statement took longer than ${STATEMENT_TIMEOUT_MS / 1000} s and was cancelled`,
  '42501': 'the database role lacks a privilege this server needs (see the README, "Replicas (PostgreSQL)")',
  '42P01': 'a table is missing: run `pingone-helpdesk-mcp db migrate` with an owner\'s URL',
  '3F000': 'the schema is missing: run `pingone-helpdesk-mcp db migrate` with an owner\'s URL',
  '28P01': 'the password was refused',
  '28000': 'the role is not allowed to connect',
  '3D000': 'the database does not exist',
};

function field(error: unknown, name: string): string | undefined {
  if (typeof error !== 'object' || error === null || !(name in error)) return undefined;
  const value = (error as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A short phrase for a database failure, never a credential: "the database is
 * unreachable (ECONNREFUSED)", "the database is read-only (…) (25006)".
 */
export function describeDatabaseError(error: unknown): string {
  const code = field(error, 'code');
  if (code !== undefined && CONNECTION_CODES.has(code)) return `the database is unreachable (${code})`;
  if (code !== undefined) {
    const known = SQLSTATE_REASONS[code];
    if (known !== undefined) return `${known} (${code})`;
  }
  const message = error instanceof Error ? error.message : String(error);
  // A server message is one line of the server's; keep it bounded.
  const line = message.split('\n')[0]?.slice(0, 300) ?? '';
  return code === undefined ? line : `${line} (${code})`;
}
