import * as nodePath from 'node:path';
import { parseArgs } from 'node:util';
import { describeOsError, osErrorCode } from '../audit/errors.js';
import { readFileLines } from '../audit/lines.js';
import type { AuditRecord } from '../audit/record.js';
import { rotateAuditFile } from '../audit/rotate.js';
import { asDisplayableRecord, formatAuditTable, matchesFilter, parseSince, visible, type AuditFilter } from '../audit/show.js';
import { checkContinuation, verifyAuditFile, type VerifiedTrail, type VerifyResult } from '../audit/verify.js';
import { runSubcommand, type Output } from './subcommands.js';

export interface AuditCommandIo extends Output {
  /** The trail used when no FILE is given: the sandbox's with --sandbox, else the tenant's. Throws when it cannot be worked out. */
  defaultPath: (sandbox: boolean) => string;
  /** Clock for `--since 24h` and the table's summary (tests). */
  now?: () => Date;
}

const COMMAND = 'pingone-helpdesk-mcp audit';

export const AUDIT_USAGE = `Usage:
  ${COMMAND} verify [--sandbox] [FILE…]
      Check every record's hash and the chain linking them. Exit 0 when the
      trail is intact, 1 when it is not (the first problem is named), 2 when
      the file cannot be read. Given several files, oldest first (a rotated
      file, then the file that replaced it), also checks that each continues
      the one before.
  ${COMMAND} show [--sandbox] [FILE] [--since 24h|7d|30m|ISO-TIME] [--user ID|USERNAME] [--json]
      Print the records as a table, or with --json as JSON Lines exactly as
      stored. Does not verify: run verify for that.
  ${COMMAND} rotate [--sandbox] [FILE]
      Verify the trail, keep it as FILE's name with a timestamp, and start a
      new file whose first record continues its chain. Safe while servers
      write to it. Exit 1 when the trail does not verify (nothing is moved).

FILE defaults to the trail this server writes (PINGONE_MCP_AUDIT_LOG or the
platform default); with --sandbox, to the trail \`--sandbox\` writes.
`;

/** Most unreadable-line warnings printed by `show` before summarising the rest. */
const MAX_WARNINGS = 20;

/** Runs `audit <subcommand> …` and resolves to the process exit code. Never throws. */
export async function runAuditCommand(args: string[], io: AuditCommandIo): Promise<number> {
  const handlers = {
    verify: (rest: string[]) => verifyCommand(rest, io),
    show: (rest: string[]) => showCommand(rest, io),
    rotate: (rest: string[]) => rotateCommand(rest, io),
  };
  return runSubcommand(COMMAND, AUDIT_USAGE, handlers, args, io);
}

type Parsed =
  | { ok: true; values: Readonly<Record<string, string | boolean | undefined>>; files: string[] }
  | { ok: false; code: number };

function parseCommand(
  name: string,
  args: string[],
  options: Record<string, { type: 'string' | 'boolean' }>,
  io: AuditCommandIo,
  maxFiles = 1,
): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, sandbox: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    io.stderr(`${COMMAND} ${name}: ${(err as Error).message}\n\n${AUDIT_USAGE}`);
    return { ok: false, code: 2 };
  }
  const values: Readonly<Record<string, string | boolean | undefined>> = parsed.values;
  if (values.help === true) {
    io.stdout(AUDIT_USAGE);
    return { ok: false, code: 0 };
  }
  if (parsed.positionals.length > maxFiles) {
    io.stderr(`${COMMAND} ${name}: expected at most one FILE, got ${parsed.positionals.length} arguments.\n\n${AUDIT_USAGE}`);
    return { ok: false, code: 2 };
  }
  const given = parsed.positionals.length > 0 ? parsed.positionals : [io.defaultPath(values.sandbox === true)];
  return { ok: true, values, files: given.map((file) => nodePath.resolve(file)) };
}

/** The line for a trail that cannot be read at all. */
function unreadable(file: string, err: unknown): string {
  if (osErrorCode(err) === 'ENOENT') {
    return `audit trail ${file}: no such file (nothing has been recorded there yet, or the path is wrong)\n`;
  }
  return `audit trail ${file}: cannot read it: ${describeOsError(err)}\n`;
}

async function verifyCommand(args: string[], io: AuditCommandIo): Promise<number> {
  const parsed = parseCommand('verify', args, {}, io, Number.POSITIVE_INFINITY);
  if (!parsed.ok) return parsed.code;
  let before: { path: string; last: VerifiedTrail['last'] } | undefined;
  for (const file of parsed.files) {
    let result: VerifyResult;
    try {
      result = await verifyAuditFile(file);
    } catch (err) {
      io.stderr(unreadable(file, err));
      return 2;
    }
    if (result.ok && before !== undefined) result = checkContinuation(before, result);
    if (!result.ok) {
      // The message may quote a file name read from the trail (a `continued` record's): shown as text, never as escapes.
      io.stdout(`${visible(`audit trail ${file}: line ${result.line} ${result.problem}: ${result.message}`)}\n`);
      return 1;
    }
    const count = `${result.records} record${result.records === 1 ? '' : 's'}`;
    const span = result.firstTime === undefined ? '' : `, ${result.firstTime} … ${result.lastTime ?? result.firstTime}`;
    const link = result.continues === undefined ? '' : `, continues ${result.continues.file} at seq ${result.continues.seq}`;
    io.stdout(`${visible(`ok: ${count}${span}${link} (${file})`)}\n`);
    before = { path: file, last: result.last };
  }
  return 0;
}

async function rotateCommand(args: string[], io: AuditCommandIo): Promise<number> {
  const parsed = parseCommand('rotate', args, {}, io);
  if (!parsed.ok) return parsed.code;
  const file = parsed.files[0] ?? '';
  let result;
  try {
    result = await rotateAuditFile(file, io.now);
  } catch (err) {
    io.stderr(`audit trail ${file}: cannot rotate it: ${describeOsError(err)}\n`);
    return 2;
  }
  switch (result.kind) {
    case 'empty':
      io.stdout(`audit trail ${file}: empty, nothing to rotate\n`);
      return 0;
    case 'does-not-verify':
      io.stdout(`audit trail ${file}: not rotated, line ${result.result.line} ${result.result.problem}: ${result.result.message}\n`);
      return 1;
    case 'rotated':
      io.stdout(`rotated: ${result.records} record${result.records === 1 ? '' : 's'} kept in ${result.kept}; ${file} now continues its chain\n`);
      return 0;
  }
}

async function showCommand(args: string[], io: AuditCommandIo): Promise<number> {
  const parsed = parseCommand(
    'show',
    args,
    { since: { type: 'string' }, user: { type: 'string' }, json: { type: 'boolean' } },
    io,
  );
  if (!parsed.ok) return parsed.code;
  const { values } = parsed;
  const file = parsed.files[0] ?? '';
  const now = io.now?.() ?? new Date();
  const json = values.json === true;
  const sinceText = typeof values.since === 'string' ? values.since : undefined;
  const user = typeof values.user === 'string' ? values.user : undefined;

  const filter: AuditFilter = {};
  if (sinceText !== undefined) {
    const since = parseSince(sinceText, now);
    if (since === undefined) {
      io.stderr(`${COMMAND} show: --since expects a duration back from now (30m, 24h, 7d, 2w) or an ISO date/time (2026-11-01, 2026-11-01T10:00:00Z), not "${sinceText}"\n`);
      return 2;
    }
    filter.since = since;
  }
  if (user !== undefined) filter.user = user;

  const matching: AuditRecord[] = [];
  let skipped = 0;
  const warn = (line: number, why: string): void => {
    skipped += 1;
    if (skipped <= MAX_WARNINGS) io.stderr(`warning: ${file} line ${line}: ${why} (skipped)\n`);
  };
  try {
    for await (const line of readFileLines(file)) {
      if (!('text' in line)) {
        warn(line.number, line.unreadable);
        continue;
      }
      if (!line.terminated) {
        warn(line.number, 'the last line is incomplete (no newline at the end of the file)');
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(line.text);
      } catch {
        warn(line.number, 'not valid JSON');
        continue;
      }
      const record = asDisplayableRecord(value);
      if (record === undefined) {
        warn(line.number, 'not an audit record');
        continue;
      }
      if (!matchesFilter(record, filter)) continue;
      // --json passes the stored line through byte for byte, so its hash still checks.
      if (json) io.stdout(`${line.text}\n`);
      else matching.push(record);
    }
  } catch (err) {
    io.stderr(unreadable(file, err));
    return 2;
  }
  if (skipped > MAX_WARNINGS) io.stderr(`warning: ${file}: ${skipped - MAX_WARNINGS} more unreadable lines skipped\n`);
  if (!json) io.stdout(formatAuditTable(matching, { now }));
  return 0;
}
