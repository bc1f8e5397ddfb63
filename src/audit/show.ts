import * as z from 'zod';
import { asContinuation } from './chain.js';
import type { AuditRecord } from './record.js';

/**
 * Reading the trail as a person: filters and a fixed-width table. Pure
 * functions; the CLI does the I/O.
 *
 * Every value shown passes through `visible`: a username or reason holding
 * terminal escape sequences, line breaks or bidi overrides is shown as text,
 * never interpreted by the terminal.
 */

// What the table reads, checked, so a hand-edited line cannot crash `show`.
// Loose: unknown fields and outcome names added later pass.
const DisplayableRecord = z.looseObject({
  time: z.string(),
  seq: z.number(),
  phase: z.string(),
  tool: z.string(),
  target: z.looseObject({
    userId: z.string().optional(),
    username: z.string().optional(),
    deviceId: z.string().optional(),
    deviceType: z.string().optional(),
    lookup: z.string().optional(),
  }),
  reason: z.string().optional(),
  actor: z.looseObject({
    client: z.string().optional(),
    osUser: z.string(),
    host: z.string(),
    operator: z.string().optional(),
  }),
  outcome: z.string().optional(),
  pingone: z.looseObject({ status: z.number().optional(), correlationId: z.string().optional() }).optional(),
  sandbox: z.boolean().optional(),
});

/**
 * The value as a record the table can show, or undefined when it lacks what the
 * table reads. The `continued` record that starts a rotated file shows as a row
 * naming the file it continues.
 */
export function asDisplayableRecord(value: unknown): AuditRecord | undefined {
  if (DisplayableRecord.safeParse(value).success) return value as AuditRecord;
  const continuation = typeof value === 'object' && value !== null ? asContinuation(value as Record<string, unknown>) : undefined;
  if (continuation === undefined || typeof continuation.time !== 'string') return undefined;
  // Display only: the table reads a phase as text, so "continued" shows in the OUTCOME column.
  const row = {
    time: continuation.time,
    seq: continuation.seq,
    phase: 'continued',
    tool: '(audit rotate)',
    target: { environmentId: '', lookup: `continues ${continuation.continues.file}` },
    actor: { osUser: String(continuation.actor?.osUser ?? '?'), host: String(continuation.actor?.host ?? '?') },
  };
  return row as unknown as AuditRecord;
}

export interface AuditFilter {
  /** Only records at or after this instant. */
  since?: Date;
  /** Only records whose target userId or username equals this, ignoring case. */
  user?: string;
}

export function matchesFilter(record: AuditRecord, filter: AuditFilter): boolean {
  if (filter.since !== undefined) {
    const time = Date.parse(record.time);
    if (!(time >= filter.since.getTime())) return false;
  }
  if (filter.user !== undefined) {
    const wanted = filter.user.toLowerCase();
    const { userId, username } = record.target;
    if (userId?.toLowerCase() !== wanted && username?.toLowerCase() !== wanted) return false;
  }
  return true;
}

const RELATIVE = /^(\d+)\s*(s|m|h|d|w)$/i;
const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parses `--since`: a duration back from `now` (`30m`, `24h`, `7d`, `2w`, `90s`)
 * or an ISO 8601 date or date-time (`2026-11-01`, `2026-11-01T10:00:00Z`; a
 * bare date is midnight UTC). Returns undefined when it is neither.
 */
export function parseSince(text: string, now: Date = new Date()): Date | undefined {
  const trimmed = text.trim();
  const relative = RELATIVE.exec(trimmed);
  if (relative !== null) {
    const unit = UNIT_MS[(relative[2] ?? '').toLowerCase()];
    return unit === undefined ? undefined : new Date(now.getTime() - Number(relative[1]) * unit);
  }
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(trimmed)) return undefined;
  const time = Date.parse(trimmed.replace(' ', 'T'));
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** Control characters as visible symbols, so nothing in a record can move the cursor, break a line or recolour the terminal. */
export function visible(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g, (ch) => {
    const code = ch.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code); // ␀ … ␟ (␊ for LF, ␍ for CR, ␛ for ESC)
    if (code === 0x7f) return '\u2421'; // ␡
    return `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** At most `width` characters (code points), ending in "…" when cut. */
export function truncate(text: string, width: number): string {
  const chars = Array.from(text);
  if (chars.length <= width) return text;
  return `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}

interface Column {
  title: string;
  max: number;
  cell(record: AuditRecord): string;
}

const COLUMNS: readonly Column[] = [
  { title: 'TIME (UTC)', max: 20, cell: (r) => r.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z') },
  {
    title: 'OPERATOR/CLIENT',
    max: 32,
    cell: (r) => {
      const who = r.actor.operator ?? `${r.actor.osUser}@${r.actor.host}`;
      const client = r.actor.client?.split('/')[0];
      return client === undefined || client === '' ? who : `${who} via ${client}`;
    },
  },
  { title: 'TOOL', max: 24, cell: (r) => r.tool },
  {
    title: 'TARGET',
    max: 40,
    cell: (r) => {
      const user = r.target.username ?? (r.target.userId === undefined ? undefined : shortId(r.target.userId)) ?? r.target.lookup ?? '-';
      if (r.target.deviceId === undefined && r.target.deviceType === undefined) return user;
      const device = [r.target.deviceType, r.target.deviceId === undefined ? undefined : shortId(r.target.deviceId)]
        .filter((part) => part !== undefined)
        .join(' ');
      return `${user} ${device}`;
    },
  },
  {
    title: 'OUTCOME',
    max: 24,
    cell: (r) => `${r.outcome ?? r.phase}${r.pingone?.status === undefined ? '' : ` (${r.pingone.status})`}${r.sandbox === true ? ' [sandbox]' : ''}`,
  },
  { title: 'REASON', max: 40, cell: (r) => r.reason ?? '' },
  { title: 'PINGONE CORRELATION', max: 36, cell: (r) => r.pingone?.correlationId ?? '' },
];

export interface FormatOptions {
  /** Reference time for the summary line ("latest 2h ago"); defaults to now. */
  now?: Date;
}

/**
 * A fixed-width text table, one row per record, and a summary line. Column
 * widths fit the content up to a cap; longer values are cut with "…".
 */
export function formatAuditTable(records: readonly AuditRecord[], options: FormatOptions = {}): string {
  const rows = records.map((record) => COLUMNS.map((column) => truncate(visible(column.cell(record)), column.max)));
  const widths = COLUMNS.map((column, index) =>
    Math.max(column.title.length, ...rows.map((row) => Array.from(row[index] ?? '').length)),
  );
  const render = (cells: readonly string[]): string =>
    cells
      .map((cell, index) => (index === cells.length - 1 ? cell : padEnd(cell, widths[index] ?? 0)))
      .join('  ')
      .trimEnd();
  const lines = [render(COLUMNS.map((column) => column.title)), ...rows.map(render)];
  lines.push(summary(records, options.now ?? new Date()));
  return `${lines.join('\n')}\n`;
}

function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - Array.from(text).length));
}

function summary(records: readonly AuditRecord[], now: Date): string {
  if (records.length === 0) return '(no matching records)';
  const last = records[records.length - 1];
  const count = `${records.length} record${records.length === 1 ? '' : 's'}`;
  const lastTime = last === undefined ? Number.NaN : Date.parse(last.time);
  if (Number.isNaN(lastTime)) return count;
  return `${count}, latest ${formatAge(now.getTime() - lastTime)}`;
}

/** "just now", "5m ago", "3h 12m ago", "4d 2h ago", or "in the future" for clock skew. */
export function formatAge(ms: number): string {
  if (ms < 0) return 'in the future';
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes}m ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m ago`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h ago`;
}
