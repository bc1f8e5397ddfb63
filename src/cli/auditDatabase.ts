import { parseArgs } from 'node:util';
import { ConfigError } from '../config.js';
import type { AuditRecord } from '../audit/record.js';
import { asDisplayableRecord, formatAuditTable, matchesFilter, parseSince, type AuditFilter } from '../audit/show.js';
import type { TrailKey } from '../store/postgres/audit.js';
import type { Sql } from '../store/postgres/connect.js';
import { resolveDatabaseUrl, trailOption, type CommandIo } from './db.js';

/**
 * `audit verify|show|export --database URL`: the audit CLI on a database trail.
 * `export` prints the trail as the file trail's JSON Lines, byte for byte, so
 * `audit verify FILE` accepts its output.
 */

const COMMAND = 'pingone-helpdesk-mcp audit';

export const AUDIT_DATABASE_USAGE = `Usage (database trails):
  ${COMMAND} verify --database URL [--environment ID] [--sandbox]
      Check each trail's records and chain (every trail, unless one is named).
      Exit 0 when intact, 1 when not, 2 when the database cannot be read.
  ${COMMAND} show --database URL [--environment ID] [--sandbox]
      [--since 24h|7d|ISO-TIME] [--user ID|USERNAME] [--json]
  ${COMMAND} export --database URL [--environment ID] [--sandbox] > trail.jsonl
      The trail as JSON Lines, exactly as a file trail holds it.

A trail is a managed environment's ID, with --sandbox for the sandbox's. When the
database holds one trail, it is the default. URL may be "env" for
PINGONE_MCP_DATABASE_URL; keep the password in PGPASSWORD, not on the command line.
`;

/** True when these `audit …` arguments are for a database (they carry --database, or ask for export). */
export function isDatabaseAuditCommand(args: readonly string[]): boolean {
  return args[0] === 'export' || args.some((arg) => arg === '--database' || arg.startsWith('--database='));
}

const OPTIONS = {
  database: { type: 'string' },
  environment: { type: 'string' },
  sandbox: { type: 'boolean' },
  since: { type: 'string' },
  user: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs `audit <verify|show|export> --database …` and resolves to the exit code. Never throws. */
export async function runAuditDatabaseCommand(args: string[], io: CommandIo): Promise<number> {
  const [subcommand, ...rest] = args;
  let sql: Sql | undefined;
  let location = 'the database';
  try {
    if (subcommand !== 'verify' && subcommand !== 'show' && subcommand !== 'export') {
      io.stderr(`${COMMAND}: "${subcommand ?? ''}" does not work on a database.\n\n${AUDIT_DATABASE_USAGE}`);
      return 2;
    }
    const { values, positionals } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: true });
    if (values.help === true) {
      io.stdout(AUDIT_DATABASE_USAGE);
      return 0;
    }
    if (positionals.length > 0) throw new ConfigError(`a FILE and --database exclude each other (got "${positionals[0]?.slice(0, 80)}").`);
    if (subcommand !== 'show' && (values.since !== undefined || values.user !== undefined || values.json !== undefined)) {
      throw new ConfigError(`--since, --user and --json belong to show, not ${subcommand}.`);
    }
    const url = resolveDatabaseUrl(values.database, io.env);
    const { connect, describeLocation } = await import('../store/postgres/connect.js');
    location = describeLocation(url);
    sql = connect(url, { max: 2, onNotice: () => {} });
    const named = trailOption(values);
    if (subcommand === 'verify') return await verify(sql, location, named, values.sandbox === true, io);
    const key = await oneTrail(sql, location, named, values.sandbox === true);
    return subcommand === 'export' ? await exportTrail(sql, key, io) : await show(sql, key, values, io);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof TypeError) {
      io.stderr(`${COMMAND} ${subcommand ?? ''}: ${err.message}\n`);
    } else {
      const { describeDatabaseError } = await import('../store/postgres/connect.js');
      io.stderr(`${COMMAND} ${subcommand ?? ''}: database ${location}: ${describeDatabaseError(err)}\n`);
    }
    return 2;
  } finally {
    await sql?.end({ timeout: 2 }).catch(() => {});
  }
}

/** The database's trails; with --sandbox, only the sandbox's. */
async function trailsIn(sql: Sql, sandbox: boolean): Promise<TrailKey[]> {
  const { listTrails } = await import('../store/postgres/trails.js');
  return (await listTrails(sql)).map((t) => t.key).filter((key) => !sandbox || key.scope === 'sandbox');
}

/** The trail the command is about: the one named, or the only one (of that scope) in the database. */
async function oneTrail(sql: Sql, location: string, named: TrailKey | undefined, sandbox: boolean): Promise<TrailKey> {
  if (named !== undefined) return named;
  const { describeTrail } = await import('../store/postgres/audit.js');
  const trails = await trailsIn(sql, sandbox);
  const only = trails[0];
  if (only !== undefined && trails.length === 1) return only;
  if (trails.length === 0) throw new ConfigError(`database ${location} holds no ${sandbox ? 'sandbox ' : ''}audit trail yet.`);
  const names = trails.map((key) => describeTrail(key)).join(', ');
  throw new ConfigError(`database ${location} holds several trails (${names.slice(0, 400)}): choose one with --environment ID [--sandbox].`);
}

async function verify(sql: Sql, location: string, named: TrailKey | undefined, sandbox: boolean, io: CommandIo): Promise<number> {
  const { verifyTrail } = await import('../store/postgres/trails.js');
  const { describeTrail } = await import('../store/postgres/audit.js');
  const keys = named !== undefined ? [named] : await trailsIn(sql, sandbox);
  if (keys.length === 0) {
    io.stdout(`ok: no audit trail in ${location} yet\n`);
    return 0;
  }
  let intact = true;
  for (const key of keys) {
    const where = `trail ${describeTrail(key)} in ${location}`;
    const result = await verifyTrail(sql, key);
    if (!result.ok) {
      intact = false;
      io.stdout(`audit ${where}: seq ${result.seq}: ${result.message}\n`);
      continue;
    }
    const count = `${result.records} record${result.records === 1 ? '' : 's'}`;
    const span = result.firstTime === undefined ? '' : `, ${result.firstTime} … ${result.lastTime ?? result.firstTime}`;
    io.stdout(`ok: ${count}${span} (${where})\n`);
  }
  return intact ? 0 : 1;
}

async function exportTrail(sql: Sql, key: TrailKey, io: CommandIo): Promise<number> {
  const { trailRows } = await import('../store/postgres/trails.js');
  for await (const row of trailRows(sql, key)) io.stdout(`${row.line}\n`);
  return 0;
}

async function show(sql: Sql, key: TrailKey, values: { since?: string; user?: string; json?: boolean }, io: CommandIo): Promise<number> {
  const now = io.now?.() ?? new Date();
  const filter: AuditFilter = {};
  if (values.since !== undefined) {
    const since = parseSince(values.since, now);
    if (since === undefined) throw new ConfigError(`--since expects a duration back from now (30m, 24h, 7d, 2w) or an ISO date/time, not "${values.since.slice(0, 40)}".`);
    filter.since = since;
  }
  if (values.user !== undefined) filter.user = values.user;
  const { trailRows } = await import('../store/postgres/trails.js');
  const matching: AuditRecord[] = [];
  for await (const row of trailRows(sql, key, filter.since)) {
    let value: unknown;
    try {
      value = JSON.parse(row.line);
    } catch {
      value = undefined;
    }
    const record = asDisplayableRecord(value);
    if (record === undefined) {
      io.stderr(`warning: seq ${row.seq}: not an audit record (skipped; run audit verify)\n`);
      continue;
    }
    if (!matchesFilter(record, filter)) continue;
    if (values.json === true) io.stdout(`${row.line}\n`);
    else matching.push(record);
  }
  if (values.json !== true) io.stdout(formatAuditTable(matching, { now }));
  return 0;
}
