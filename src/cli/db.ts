import { parseArgs } from 'node:util';
import { checkDatabaseUrl, ConfigError, databaseUrlFromEnv } from '../config.js';
import { describeOsError } from '../audit/errors.js';
import { readFileLines } from '../audit/lines.js';
import { verifyAuditFile } from '../audit/verify.js';
import type { TrailKey } from '../store/postgres/audit.js';
import { runSubcommand, type Output } from './subcommands.js';

/**
 * `pingone-helpdesk-mcp db …`: the database's owner runs the migrations and
 * imports an existing file trail. The server itself never changes the schema.
 * The PostgreSQL code (and its driver) is loaded only when a command runs.
 */

export interface CommandIo extends Output {
  env: NodeJS.ProcessEnv;
  /** Clock for `--since 24h` (tests). */
  now?: () => Date;
}

const COMMAND = 'pingone-helpdesk-mcp db';

export const DB_USAGE = `Usage:
  ${COMMAND} migrate [--database URL] [--grant ROLE]...
      Create or update the schema "pingone_mcp" (versioned, idempotent: a second
      run applies nothing). Run it with the database owner's URL, never the
      server's. --grant gives ROLE the server's runtime privileges (SELECT and
      INSERT on the audit trail; SELECT, INSERT, DELETE on write reservations and
      spent confirmations; nothing that can alter, disable or drop).
  ${COMMAND} import FILE [--database URL] [--environment ID] [--sandbox]
      Copy a verified file trail into an empty database trail, line for line, so
      its hash chain carries over. The trail is the records' environment ID (and
      sandbox flag) unless --environment/--sandbox say otherwise.

URL defaults to PINGONE_MCP_DATABASE_URL (or the file named by
PINGONE_MCP_DATABASE_URL_FILE). Keep the password out of the command line: put it
in PGPASSWORD.
`;

/** Runs `db <subcommand> …` and resolves to the exit code. Never throws. */
export async function runDbCommand(args: string[], io: CommandIo): Promise<number> {
  return runSubcommand(COMMAND, DB_USAGE, { migrate: (rest) => migrateCommand(rest, io), import: (rest) => importCommand(rest, io) }, args, io);
}

/** The URL from --database (`env`: from the environment), else from the environment; a ConfigError when neither gives one. */
export function resolveDatabaseUrl(option: string | boolean | undefined, env: NodeJS.ProcessEnv): string {
  if (typeof option === 'string' && option !== 'env') return checkDatabaseUrl(option, '--database');
  const fromEnv = databaseUrlFromEnv(env);
  if (fromEnv === undefined) throw new ConfigError('no database given: pass --database postgres://USER@HOST:PORT/DATABASE or set PINGONE_MCP_DATABASE_URL.');
  return fromEnv;
}

/** The trail named by --environment/--sandbox, or undefined when --environment is absent. */
export function trailOption(values: Readonly<Record<string, string | boolean | undefined>>): TrailKey | undefined {
  const environment = values.environment;
  if (typeof environment !== 'string') return undefined;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(environment)) {
    throw new ConfigError('--environment must be a PingOne environment ID (a UUID).');
  }
  return { environmentId: environment.toLowerCase(), scope: values.sandbox === true ? 'sandbox' : 'tenant' };
}

async function migrateCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { database: { type: 'string' }, grant: { type: 'string', multiple: true } },
    strict: true,
    allowPositionals: false,
  });
  const url = resolveDatabaseUrl(values.database, io.env);
  const grantTo = values.grant ?? [];
  const { connect, describeDatabaseError, describeLocation } = await import('../store/postgres/connect.js');
  const { migrate } = await import('../store/postgres/schema.js');
  const location = describeLocation(url);
  const sql = connect(url, { max: 1, onNotice: () => {} });
  try {
    const result = await migrate(sql, { grantTo });
    const applied = result.applied.length === 0 ? 'already current, nothing applied' : `applied version ${result.applied.join(', ')}`;
    io.stdout(`database ${location}: schema pingone_mcp at version ${result.version} (${applied})\n`);
    for (const role of result.granted) io.stdout(`granted the runtime privileges to ${role}\n`);
    return 0;
  } catch (err) {
    io.stderr(`${COMMAND} migrate: database ${location}: ${describeDatabaseError(err)}\n`);
    return 2;
  } finally {
    await sql.end({ timeout: 2 }).catch(() => {});
  }
}

async function importCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { database: { type: 'string' }, environment: { type: 'string' }, sandbox: { type: 'boolean' } },
    strict: true,
    allowPositionals: true,
  });
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) {
    io.stderr(`${COMMAND} import: expected exactly one FILE.\n\n${DB_USAGE}`);
    return 2;
  }
  const url = resolveDatabaseUrl(values.database, io.env);
  let verified;
  try {
    verified = await verifyAuditFile(file);
  } catch (err) {
    io.stderr(`${COMMAND} import: cannot read ${file}: ${describeOsError(err)}\n`);
    return 2;
  }
  if (!verified.ok) {
    io.stderr(`${COMMAND} import: ${file} does not verify (line ${verified.line} ${verified.problem}: ${verified.message}); nothing imported\n`);
    return 1;
  }
  const lines: string[] = [];
  for await (const line of readFileLines(file)) if ('text' in line) lines.push(line.text);
  const continues = continuedFrom(lines[0]);
  if (continues !== undefined) {
    io.stderr(
      `${COMMAND} import: ${file} continues ${continues} (it was started by \`audit rotate\`), and a database trail holds a chain from its first record; ` +
        'nothing imported: import the trail\'s first file (before any rotation), or keep the rotated files as they are (`audit verify` checks them) and start the database trail empty\n',
    );
    return 1;
  }
  const key = trailOption(values) ?? trailOfRecords(lines);
  const { connect, describeDatabaseError, describeLocation } = await import('../store/postgres/connect.js');
  const { describeTrail } = await import('../store/postgres/audit.js');
  const { importTrail, TrailImportError } = await import('../store/postgres/trails.js');
  const location = describeLocation(url);
  const sql = connect(url, { max: 1, onNotice: () => {} });
  try {
    const count = await importTrail(sql, key, lines);
    io.stdout(`imported ${count} record${count === 1 ? '' : 's'} from ${file} into trail ${describeTrail(key)} in ${location}\n`);
    return 0;
  } catch (err) {
    const why = err instanceof TrailImportError ? err.message : describeDatabaseError(err);
    io.stderr(`${COMMAND} import: ${location}: ${why}; nothing imported\n`);
    return err instanceof TrailImportError ? 1 : 2;
  } finally {
    await sql.end({ timeout: 2 }).catch(() => {});
  }
}

/** The file a rotated trail's first line says it continues, or undefined when the file starts a chain. */
function continuedFrom(line: string | undefined): string | undefined {
  if (line === undefined) return undefined;
  const record = JSON.parse(line) as { phase?: unknown; continues?: { file?: unknown } };
  if (record.phase !== 'continued') return undefined;
  return typeof record.continues?.file === 'string' ? JSON.stringify(record.continues.file) : 'an earlier file';
}

/** The one trail every record names (environment ID and sandbox flag); a ConfigError when they differ. */
function trailOfRecords(lines: readonly string[]): TrailKey {
  let key: TrailKey | undefined;
  for (const [index, line] of lines.entries()) {
    const record = JSON.parse(line) as { target?: { environmentId?: unknown }; sandbox?: unknown };
    const environmentId = record.target?.environmentId;
    if (typeof environmentId !== 'string') throw new ConfigError(`line ${index + 1} names no environment: pass --environment ID.`);
    const scope = record.sandbox === true ? 'sandbox' : 'tenant';
    if (key === undefined) key = { environmentId, scope };
    else if (key.environmentId !== environmentId || key.scope !== scope) {
      throw new ConfigError(`line ${index + 1} belongs to another trail (${environmentId}/${scope}) than line 1 (${key.environmentId}/${key.scope}): pass --environment ID (and --sandbox) to choose one.`);
    }
  }
  if (key === undefined) throw new ConfigError('the file holds no records: nothing to import.');
  return key;
}
