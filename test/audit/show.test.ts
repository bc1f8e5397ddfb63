import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.js';
import { formatAge, formatAuditTable, matchesFilter, parseSince, truncate, visible } from '../../src/audit/show.js';

const NOW = new Date('2026-11-23T12:00:00.000Z');

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    time: '2026-11-23T09:12:01.123Z',
    seq: 1,
    auditId: 'a',
    phase: 'outcome',
    tool: 'unblock_mfa_device',
    target: { environmentId: 'e', userId: '0f0e0d0c-1111-4222-8333-444455556666', deviceId: '9a8b7c6d-1111-4222-8333-444455556666', deviceType: 'SMS' },
    reason: 'x'.repeat(60),
    actor: { osUser: 'dana', host: 'desk-01' },
    outcome: 'unblocked',
    pingone: { status: 200, correlationId: 'c0ffee00-1111-4222-8333-444455556666' },
    prevHash: '',
    hash: 'h',
    ...overrides,
  };
}

describe('parseSince', () => {
  it('relative durations', () => {
    expect(parseSince('24h', NOW)?.toISOString()).toBe('2026-11-22T12:00:00.000Z');
    expect(parseSince('7d', NOW)?.toISOString()).toBe('2026-11-16T12:00:00.000Z');
    expect(parseSince('30m', NOW)?.toISOString()).toBe('2026-11-23T11:30:00.000Z');
    expect(parseSince('2w', NOW)?.toISOString()).toBe('2026-11-09T12:00:00.000Z');
  });

  it('ISO dates and times', () => {
    expect(parseSince('2026-11-01', NOW)?.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseSince('2026-11-01T10:00:00Z', NOW)?.toISOString()).toBe('2026-11-01T10:00:00.000Z');
    expect(parseSince('2026-11-01T10:00:00+02:00', NOW)?.toISOString()).toBe('2026-11-01T08:00:00.000Z');
  });

  it('rejects anything else', () => {
    for (const text of ['', 'yesterday', '24', 'h', '2026-13-45', '1y']) expect(parseSince(text, NOW)).toBeUndefined();
  });
});

describe('matchesFilter', () => {
  it('filters on time and on userId/username ignoring case', () => {
    const r = record({ target: { environmentId: 'e', userId: 'ABC', username: 'Dana.Smith' } });
    expect(matchesFilter(r, { user: 'dana.smith' })).toBe(true);
    expect(matchesFilter(r, { user: 'abc' })).toBe(true);
    expect(matchesFilter(r, { user: 'dana' })).toBe(false);
    expect(matchesFilter(r, { since: new Date('2026-11-23T09:00:00Z') })).toBe(true);
    expect(matchesFilter(r, { since: new Date('2026-11-23T10:00:00Z') })).toBe(false);
  });
});

describe('formatAuditTable', () => {
  it('shortens ids, truncates the reason to 40 characters and shows the correlation id', () => {
    const table = formatAuditTable([record()], { now: NOW });
    const row = table.split('\n')[1] ?? '';
    expect(row).toContain('2026-11-23 09:12:01Z');
    expect(row).toContain('dana@desk-01');
    expect(row).toContain('0f0e0d0c… SMS 9a8b7c6d…');
    expect(row).toContain('unblocked (200)');
    expect(row).toContain(`${'x'.repeat(39)}…`);
    expect(row).not.toContain('x'.repeat(40));
    expect(row.endsWith('c0ffee00-1111-4222-8333-444455556666')).toBe(true);
    expect(table.trimEnd().split('\n').at(-1)).toBe('1 record, latest 2h 47m ago');
  });

  it('shows the phase for an intent and marks sandbox records', () => {
    const { outcome: _o, pingone: _p, ...intent } = record({ phase: 'intent', sandbox: true });
    expect(formatAuditTable([intent], { now: NOW })).toContain('intent [sandbox]');
  });

  it('aligns columns', () => {
    const table = formatAuditTable([record(), record({ tool: 'unlock_user', target: { environmentId: 'e', username: 'bo' } })], { now: NOW });
    const [header, first, second] = table.split('\n');
    const column = (line: string | undefined) => line?.indexOf('unblocked') ?? -1;
    expect(column(first)).toBe(header?.indexOf('OUTCOME'));
    expect(column(second)).toBe(header?.indexOf('OUTCOME'));
  });

  it('says so when nothing matches', () => {
    expect(formatAuditTable([], { now: NOW })).toContain('(no matching records)');
  });
});

describe('helpers', () => {
  it('visible() neutralises control, bidi and line-separator characters', () => {
    expect(visible('a\r\nb\u001b[0m\u0007\u007f')).toBe('a␍␊b␛[0m␇␡');
    expect(visible('evil\u202egnp.exe\u2028')).toBe('evil\\u202egnp.exe\\u2028');
    expect(visible('ünïcödé 😀')).toBe('ünïcödé 😀');
  });

  it('truncate() counts code points and never splits a surrogate pair', () => {
    expect(truncate('😀😀😀', 2)).toBe('😀…');
    expect(truncate('abc', 3)).toBe('abc');
  });

  it('formatAge()', () => {
    expect(formatAge(30_000)).toBe('just now');
    expect(formatAge(5 * 60_000)).toBe('5m ago');
    expect(formatAge(26 * 3_600_000)).toBe('1d 2h ago');
    expect(formatAge(-1)).toBe('in the future');
  });
});
