#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { SERVER_NAME, SERVER_VERSION } from './version.js';

const USAGE = `Usage:
  ${SERVER_NAME} [--sandbox] [--read-only] [--tools LIST] [--confirm MODE]
      [--audit-log FILE] [--log-level LEVEL]
      Serve MCP on stdio (what an MCP client runs). Configuration comes from
      the environment (see the README):
        PingOne:  PINGONE_ENVIRONMENT_ID, PINGONE_CLIENT_ID, PINGONE_CLIENT_SECRET,
                  PINGONE_AUTH_ENVIRONMENT_ID, PINGONE_REGION_CODE (NA|EU|AP|CA|AU|SG),
                  PINGONE_API_URL, PINGONE_AUTH_URL, PINGONE_TOKEN_AUTH_METHOD
        guards:   PINGONE_MCP_READ_ONLY, PINGONE_MCP_TOOLS, PINGONE_MCP_ALLOWED_POPULATIONS,
                  PINGONE_MCP_PROTECTED_USERS, PINGONE_MCP_MAX_WRITES_PER_MINUTE (10),
                  PINGONE_MCP_CONFIRM (auto|always|never), PINGONE_MCP_REQUIRE_REASON
        audit:    PINGONE_MCP_AUDIT_LOG, PINGONE_MCP_OPERATOR, PINGONE_MCP_AUDIT_STDERR
        logging:  PINGONE_MCP_LOG_LEVEL
  ${SERVER_NAME} audit verify [--sandbox] [FILE…]
      Check the audit trail's hash chain; exit 0 when intact.
  ${SERVER_NAME} audit show [--sandbox] [FILE] [--since 24h|ISO-TIME] [--user ID|USERNAME] [--json]
      Print the audit trail as a table (or JSON Lines).
  ${SERVER_NAME} audit rotate [--sandbox] [FILE]
      Verify the trail, keep it under a timestamped name, start a new file
      that continues its chain.

Options:
  --sandbox          run against an embedded PingOne emulator with demo users (no tenant needed)
  --read-only        offer only the lookups (PINGONE_MCP_READ_ONLY=true)
  --tools LIST       offer only these tools, comma-separated (PINGONE_MCP_TOOLS)
  --confirm MODE     auto|always|never: ask a person before each write (PINGONE_MCP_CONFIRM)
  --audit-log FILE   audit trail file (overrides PINGONE_MCP_AUDIT_LOG)
  --log-level LEVEL  fatal|error|warn|info|debug|trace|silent (stderr only)
  -h, --help         show this help
  -v, --version      print the version
`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'audit') {
    const { runAuditCommand } = await import('./cli/audit.js');
    const { defaultAuditLogPath } = await import('./audit/location.js');
    // A reader that stops early (`audit show --json | head -1`) is not an error.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      process.stderr.write(`${SERVER_NAME}: cannot write to stdout: ${error.message}\n`);
      process.exit(2);
    });
    return runAuditCommand(argv.slice(1), {
      stdout: (text: string) => process.stdout.write(text),
      stderr: (text: string) => process.stderr.write(text),
      // The same file the server would write, with or without --sandbox.
      defaultPath: (sandbox) => process.env.PINGONE_MCP_AUDIT_LOG?.trim() || defaultAuditLogPath({ sandbox }),
    });
  }
  let flags;
  try {
    flags = parseArgs({
      args: argv,
      options: {
        sandbox: { type: 'boolean' },
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
  return -1; // serving: the process ends on stdin close or a signal
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
