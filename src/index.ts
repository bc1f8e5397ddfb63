#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { SERVER_NAME, SERVER_VERSION } from './version.js';

const USAGE = `Usage:
  ${SERVER_NAME} [--sandbox] [--http] [--read-only] [--tools LIST] [--confirm MODE]
      [--audit-log FILE] [--log-level LEVEL]
      Serve MCP on stdio (what an MCP client runs), or over Streamable HTTP with
      --http. Configuration comes from the environment (see the README):
        PingOne:  PINGONE_ENVIRONMENT_ID, PINGONE_CLIENT_ID, PINGONE_CLIENT_SECRET,
                  PINGONE_AUTH_ENVIRONMENT_ID, PINGONE_REGION_CODE (NA|EU|AP|CA|AU|SG),
                  PINGONE_API_URL, PINGONE_AUTH_URL, PINGONE_TOKEN_AUTH_METHOD
        guards:   PINGONE_MCP_READ_ONLY, PINGONE_MCP_TOOLS, PINGONE_MCP_ALLOWED_POPULATIONS,
                  PINGONE_MCP_PROTECTED_USERS (user IDs, usernames or emails),
                  PINGONE_MCP_MAX_WRITES_PER_MINUTE (10), PINGONE_MCP_MAX_WRITES_PER_OPERATOR_PER_MINUTE,
                  PINGONE_MCP_CONFIRM (auto|always|never), PINGONE_MCP_REQUIRE_REASON
        calls:    PINGONE_MCP_MAX_CONCURRENT_CALLS (16), PINGONE_MCP_MAX_CONCURRENT_CALLS_PER_OPERATOR
                  (a quarter of it), PINGONE_MCP_MAX_QUEUED_CALLS (256), PINGONE_MCP_SHUTDOWN_GRACE_MS (10000)
        audit:    PINGONE_MCP_AUDIT_LOG, PINGONE_MCP_OPERATOR, PINGONE_MCP_AUDIT_STDERR
        replicas: PINGONE_MCP_DATABASE_URL (or _FILE), then PINGONE_MCP_CONFIRM_KEY is required
        logging:  PINGONE_MCP_LOG_LEVEL
        http:     PINGONE_MCP_HTTP_HOST (127.0.0.1), PINGONE_MCP_HTTP_PORT (8080),
                  PINGONE_MCP_RESOURCE (/mcp; a public https:// URL turns OAuth on),
                  PINGONE_MCP_TRUST_PROXY, PINGONE_MCP_TLS_CERT, PINGONE_MCP_TLS_KEY,
                  PINGONE_MCP_METRICS_PORT, PINGONE_MCP_METRICS_HOST, PINGONE_MCP_HTTP_MAX_SESSIONS,
                  PINGONE_MCP_HTTP_SESSION_IDLE_SECONDS, PINGONE_MCP_CONFIRM_KEY
        oauth:    PINGONE_MCP_OAUTH_ISSUER ({PINGONE_AUTH_URL}/{PINGONE_AUTH_ENVIRONMENT_ID}/as),
                  PINGONE_MCP_READ_SCOPE (helpdesk:read), PINGONE_MCP_WRITE_SCOPE (helpdesk:write),
                  PINGONE_MCP_OPERATOR_NAME_CLAIM (preferred_username,email),
                  PINGONE_MCP_MAX_TOKEN_LIFETIME_SECONDS (3600); with --sandbox --http an
                  embedded authorization server issues the tokens, signing in
                  PINGONE_MCP_SANDBOX_OPERATOR (bsmith) unless login_hint names another
        secrets:  PINGONE_CLIENT_SECRET_FILE, PINGONE_MCP_CONFIRM_KEY_FILE, PINGONE_MCP_DATABASE_URL_FILE
                  read the value from a file
  ${SERVER_NAME} audit verify [--sandbox] [FILE…]
      Check the audit trail's hash chain; exit 0 when intact.
  ${SERVER_NAME} audit show [--sandbox] [FILE] [--since 24h|ISO-TIME] [--user ID|USERNAME] [--json]
      Print the audit trail as a table (or JSON Lines).
  ${SERVER_NAME} audit rotate [--sandbox] [FILE]
      Verify the trail, keep it under a timestamped name, start a new file
      that continues its chain.
  ${SERVER_NAME} audit verify|show|export --database URL [--environment ID] [--sandbox]
      The same on a PostgreSQL trail; export prints it as a file trail.
  ${SERVER_NAME} db migrate [--database URL] [--grant ROLE]
      Create or update the PostgreSQL schema (with the database owner's URL).
  ${SERVER_NAME} db import FILE [--database URL]
      Copy a file trail into an empty database trail, its chain intact.

Options:
  --sandbox          run against an embedded PingOne emulator with demo users (no tenant needed)
  --http             serve MCP over Streamable HTTP (PINGONE_MCP_HTTP=true)
  --read-only        offer only the lookups (PINGONE_MCP_READ_ONLY=true)
  --tools LIST       offer only these tools, comma-separated (PINGONE_MCP_TOOLS)
  --confirm MODE     auto|always|never: ask a person before each write (PINGONE_MCP_CONFIRM)
  --audit-log FILE   audit trail file (overrides PINGONE_MCP_AUDIT_LOG)
  --log-level LEVEL  fatal|error|warn|info|debug|trace|silent (stderr only)
  -h, --help         show this help
  -v, --version      print the version
`;

/**
 * `audit …` and `db …`: commands a person runs, whose output is theirs to read on stdout. The server's
 * path never comes here (on stdio, stdout carries MCP and nothing else).
 */
async function runSubcommand(command: 'audit' | 'db', args: string[]): Promise<number> {
  // A reader that stops early (`audit show --json | head -1`, `audit export … | head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    process.stderr.write(`${SERVER_NAME}: cannot write to stdout: ${error.message}\n`);
    process.exit(2);
  });
  const output = { stdout: (text: string) => process.stdout.write(text), stderr: (text: string) => process.stderr.write(text) };
  if (command === 'db') {
    const { runDbCommand } = await import('./cli/db.js');
    return runDbCommand(args, { ...output, env: process.env });
  }
  const { isDatabaseAuditCommand, runAuditDatabaseCommand } = await import('./cli/auditDatabase.js');
  if (isDatabaseAuditCommand(args)) return runAuditDatabaseCommand(args, { ...output, env: process.env });
  // A server with a database never writes the file: say so, rather than verify a trail nobody writes.
  if (process.env.PINGONE_MCP_DATABASE_URL?.trim() || process.env.PINGONE_MCP_DATABASE_URL_FILE?.trim()) {
    process.stderr.write(`${SERVER_NAME}: note: PINGONE_MCP_DATABASE_URL is set, but this reads the file trail; add --database env to read the database's.\n`);
  }
  const { runAuditCommand } = await import('./cli/audit.js');
  const { defaultAuditLogPath } = await import('./audit/location.js');
  return runAuditCommand(args, {
    ...output,
    // The same file the server would write, with or without --sandbox.
    defaultPath: (sandbox) => process.env.PINGONE_MCP_AUDIT_LOG?.trim() || defaultAuditLogPath({ sandbox }),
  });
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'audit' || argv[0] === 'db') return runSubcommand(argv[0], argv.slice(1));
  let flags;
  try {
    flags = parseArgs({
      args: argv,
      options: {
        sandbox: { type: 'boolean' },
        http: { type: 'boolean' },
        'read-only': { type: 'boolean' },
        tools: { type: 'string' },
        confirm: { type: 'string' },
        'audit-log': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    process.stderr.write(`${SERVER_NAME}: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  // An empty value is refused, not read as "not given": `--tools ""` from a templated client config
  // would otherwise offer every tool, and `--audit-log ""` would write to the default trail.
  // Every flag that takes a value (`type: 'string'` above), and no list of them to keep in step.
  const empty = Object.entries(flags).find(([, value]) => typeof value === 'string' && value.trim() === '')?.[0];
  if (empty !== undefined) {
    process.stderr.write(`${SERVER_NAME}: --${empty} was given an empty value; give one (see --help) or leave the flag out\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (flags.version) {
    process.stdout.write(`${SERVER_VERSION}\n`);
    return 0;
  }
  let config;
  try {
    config = loadConfig(process.env, {
      ...(flags.sandbox ? { sandbox: true } : {}),
      ...(flags.http ? { http: true } : {}),
      ...(flags['audit-log'] ? { auditLog: flags['audit-log'] } : {}),
      ...(flags['log-level'] ? { logLevel: flags['log-level'] } : {}),
      ...(flags['read-only'] ? { readOnly: true } : {}),
      ...(flags.tools ? { tools: flags.tools } : {}),
      ...(flags.confirm ? { confirm: flags.confirm } : {}),
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${SERVER_NAME}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const { serve } = await import('./cli/serve.js');
  await serve(config);
  return -1; // serving: the process ends on stdin close (stdio) or a signal
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${SERVER_NAME}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
