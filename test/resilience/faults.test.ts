import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Fault } from '../support/faults.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { startHarness, type Harness, type ToolResult } from '../support/harness.js';

/**
 * Every PingOne misbehaviour the issue lists, injected at the emulator (real
 * HTTP on loopback) under the real MCP server and client. For each: the call
 * ends within its deadline with the right outcome, the audit trail tells the
 * truth, and the server then serves a normal call.
 *
 * The call is `unlock_user jdoe` (search, then the write after the intent
 * record) unless a row says otherwise, so a fault lands before or after the
 * intent depending on its route.
 */

const jdoe = DEMO_USERS.jdoe;
const KiB = 1024;

// Deadlines must hold across garbage collections: Node 20 drops an AbortSignal.timeout()
// joined with AbortSignal.any() when it collects, and the deadline then never fires.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

interface Row {
  name: string;
  faults: () => Fault[];
  call?: { tool: string; args: Record<string, unknown> };
  callTimeoutMs?: number;
  /** The call must end before this many ms: generous (two shared cores), yet far below what it rules out (the 30 s default deadline, or never). */
  within: number;
  /** …and not before this many (a Retry-After honoured). */
  notBefore?: number;
  outcome: string;
  /** structuredContent.error.code; absent for a success. */
  code?: string;
  text?: RegExp;
  /** The call's audit records, `outcome ?? phase` each. */
  audit: string[];
  /** What the outcome record's `pingone` must contain. */
  pingone?: { status?: number; errorCode?: string };
  check?: (h: Harness, result: ToolResult) => void | Promise<void>;
}

const status = (code: number, times = 1, route: Fault['match'] = { route: 'users.search' }, headers?: Record<string, string>): Fault => ({
  match: route,
  times,
  action: { kind: 'status', status: code, ...(headers ? { headers } : {}) },
});
const httpDate = (msFromNow: number): string => new Date(Date.now() + msFromNow).toUTCString();
const count = (h: Harness, route: string): number => h.emulator.requests.filter((r) => r.route === route).length;

/** A users page that would resolve jdoe, padded past the client's 1 MiB read cap. */
function hugeUserPage(h: Harness): string {
  const user = h.emulator.getUser(jdoe.id);
  return JSON.stringify({ _embedded: { users: [user] }, count: 1, padding: 'x'.repeat(2 * 1024 * KiB) });
}

const ROWS: Row[] = [
  // Recovered by a retry.
  {
    name: '429 storm with Retry-After in seconds, then success',
    faults: () => [status(429, 2, { route: 'users.search' }, { 'Retry-After': '1' })],
    within: 10_000,
    notBefore: 1_900,
    outcome: 'unlocked',
    audit: ['intent', 'unlocked'],
    pingone: { status: 200 },
    check: (h) => expect(count(h, 'users.search')).toBe(3),
  },
  {
    name: '429 with Retry-After as an HTTP date, then success',
    faults: () => [status(429, 1, { route: 'user.action' }, { 'Retry-After': httpDate(2_000) })],
    within: 10_000,
    notBefore: 900,
    outcome: 'unlocked',
    audit: ['intent', 'unlocked'],
    pingone: { status: 200 },
    check: (h) => expect(count(h, 'user.action')).toBe(2),
  },
  ...[500, 502, 503, 504].map(
    (code): Row => ({
      name: `${code} once, then success`,
      faults: () => [status(code)],
      within: 10_000,
      outcome: 'unlocked',
      audit: ['intent', 'unlocked'],
      pingone: { status: 200 },
      check: (h) => expect(count(h, 'users.search')).toBe(2),
    }),
  ),
  {
    name: 'connection reset on the token request, then success',
    faults: () => [{ match: { route: 'token' }, action: { kind: 'reset' } }],
    within: 10_000,
    outcome: 'unlocked',
    audit: ['intent', 'unlocked'],
    check: (h) => expect(h.tokenRequests()).toBe(1),
  },
  {
    name: 'a slow token endpoint within the deadline',
    faults: () => [{ match: { route: 'token' }, action: { kind: 'delay', ms: 700 } }],
    within: 10_000,
    notBefore: 650,
    outcome: 'unlocked',
    audit: ['intent', 'unlocked'],
  },
  {
    name: 'a gateway HTML 502 page once, then success',
    faults: () => [{ match: { route: 'users.search' }, action: { kind: 'html', status: 502 } }],
    within: 10_000,
    outcome: 'unlocked',
    audit: ['intent', 'unlocked'],
  },

  // Honest failures.
  {
    name: '429 storm (Retry-After 1 s) outlasting a short deadline',
    faults: () => [status(429, Infinity, { route: 'users.search' }, { 'Retry-After': '1' })],
    callTimeoutMs: 1_500,
    within: 5_500,
    outcome: 'failed',
    code: 'PINGONE_429',
    text: /rate limit was reached: wait 1 s.* Nothing was changed/,
    audit: ['failed'],
    pingone: { status: 429, errorCode: 'REQUEST_LIMITED' },
  },
  {
    name: '429 whose HTTP-date Retry-After lies beyond the deadline: no pointless wait',
    faults: () => [status(429, Infinity, { route: 'users.search' }, { 'Retry-After': httpDate(120_000) })],
    within: 10_000,
    outcome: 'failed',
    code: 'PINGONE_429',
    text: /wait 1[12]\d s/,
    audit: ['failed'],
    pingone: { status: 429, errorCode: 'REQUEST_LIMITED' },
    check: (h) => expect(count(h, 'users.search')).toBe(1),
  },
  ...[500, 503].map(
    (code): Row => ({
      name: `${code} on every attempt of a read`,
      faults: () => [status(code, Infinity)],
      within: 10_000,
      outcome: 'failed',
      code: `PINGONE_${code}`,
      text: /after 3 attempts.*server-side problem.*Nothing was changed/,
      audit: ['failed'],
      pingone: { status: code, errorCode: 'UNEXPECTED_ERROR' },
    }),
  ),
  ...[502, 504].map(
    (code): Row => ({
      name: `${code} on every attempt of the write, after the intent`,
      faults: () => [status(code, Infinity, { route: 'user.action' })],
      within: 10_000,
      outcome: 'failed',
      code: `PINGONE_${code}`,
      text: /may or may not have been applied/,
      audit: ['intent', 'failed'],
      pingone: { status: code },
    }),
  ),
  {
    name: 'connection reset on every attempt',
    faults: () => [{ match: { route: 'users.search' }, times: Infinity, action: { kind: 'reset' } }],
    within: 10_000,
    outcome: 'failed',
    code: 'PINGONE_UNREACHABLE',
    text: /could not be reached.*after 3 attempts/,
    audit: ['failed'],
    pingone: { errorCode: 'UNREACHABLE' },
  },
  {
    name: 'the write hangs: ends at the deadline, and says the change may have happened',
    faults: () => [{ match: { route: 'user.action' }, action: { kind: 'hang' } }],
    // Long enough that the token, the search and the reads before the write fit on a busy shared machine.
    callTimeoutMs: 3_000,
    within: 7_000,
    outcome: 'failed',
    code: 'PINGONE_TIMEOUT',
    text: /did not answer within .*may or may not have been applied/,
    audit: ['intent', 'failed'],
    pingone: { errorCode: 'TIMEOUT' },
    // The request was abandoned, not left open.
    check: (h) => vi.waitFor(() => expect(h.emulator.requests.find((r) => r.route === 'user.action')?.unanswered).toBe(true)),
  },
  {
    name: 'a response body that stalls half-way',
    faults: () => [{ match: { route: 'users.search' }, action: { kind: 'stall-body' } }],
    callTimeoutMs: 800,
    within: 4_800,
    outcome: 'failed',
    code: 'PINGONE_TIMEOUT',
    audit: ['failed'],
    pingone: { errorCode: 'TIMEOUT' },
  },
  {
    name: 'a token endpoint slower than the deadline',
    faults: () => [{ match: { route: 'token' }, action: { kind: 'delay', ms: 5_000 } }],
    callTimeoutMs: 800,
    within: 4_800,
    outcome: 'failed',
    code: 'PINGONE_TIMEOUT',
    text: /did not answer within 1 s/,
    audit: ['failed'],
    pingone: { errorCode: 'TIMEOUT' },
  },
  {
    name: 'an HTML page with status 200 instead of JSON',
    faults: () => [{ match: { route: 'users.search' }, action: { kind: 'html', status: 200 } }],
    within: 10_000,
    outcome: 'failed',
    code: 'PINGONE_BAD_RESPONSE',
    text: /expected JSON, got text\/html/,
    audit: ['failed'],
    pingone: { status: 200, errorCode: 'RESPONSE' },
  },
  {
    name: 'a gateway HTML 502 page on every attempt',
    faults: () => [{ match: { route: 'users.search' }, times: Infinity, action: { kind: 'html', status: 502 } }],
    within: 10_000,
    outcome: 'failed',
    code: 'PINGONE_502',
    text: /answered 502 after 3 attempts/,
    audit: ['failed'],
    pingone: { status: 502 },
  },
  {
    name: 'truncated JSON on a read',
    faults: () => [{ match: { route: 'users.search' }, action: { kind: 'truncated' } }],
    within: 10_000,
    outcome: 'failed',
    code: 'PINGONE_BAD_RESPONSE',
    text: /malformed or cut short.*Nothing was changed/,
    audit: ['failed'],
    pingone: { status: 200, errorCode: 'RESPONSE' },
  },
  {
    name: 'truncated JSON on the write that PingOne did apply: any 2xx counts, and the read-back shows it took',
    faults: () => [{ match: { route: 'user.action' }, action: { kind: 'truncated' } }],
    within: 10_000,
    outcome: 'unlocked',
    text: /^Unlocked jdoe/,
    audit: ['intent', 'unlocked'],
    // The status of the read-back GET, the call's last PingOne answer.
    pingone: { status: 200 },
    check: (h) => {
      expect(h.emulator.getUser(jdoe.id)?.account?.status).toBe('OK');
      expect(h.emulator.requests.filter((r) => r.route !== 'token').map((r) => r.route)).toEqual(['users.search', 'password.get', 'user.action', 'user.get']);
    },
  },
  {
    name: 'a 200 of an unexpected shape',
    faults: () => [{ match: { route: 'user.get' }, action: { kind: 'raw', status: 200, body: '{"data":[{"id":1}]}' } }],
    call: { tool: 'unlock_user', args: { user: jdoe.id } },
    within: 10_000,
    outcome: 'failed',
    code: 'PINGONE_BAD_RESPONSE',
    text: /does not have the expected shape/,
    audit: ['failed'],
    pingone: { status: 200, errorCode: 'RESPONSE' },
  },
  {
    name: 'a 200 naming a user whose ID is a path, never put into a URL',
    faults: () => [
      { match: { route: 'users.search' }, action: { kind: 'raw', status: 200, body: JSON.stringify({ _embedded: { users: [{ id: '../../../as/token', username: 'jdoe' }] } }) } },
    ],
    within: 10_000,
    outcome: 'failed',
    code: 'PINGONE_BAD_RESPONSE',
    text: /not a UUID/,
    audit: ['failed'],
    check: (h) => expect(h.emulator.requests.map((r) => r.route)).toEqual(['token', 'users.search']),
  },
  {
    name: 'a token answer without an access token',
    faults: () => [{ match: { route: 'token' }, action: { kind: 'raw', status: 200, body: '{"token_type":"Bearer","expires_in":3600}' } }],
    within: 10_000,
    outcome: 'failed',
    code: 'PINGONE_BAD_RESPONSE',
    text: /no access token/,
    audit: ['failed'],
  },
  {
    name: 'a body far larger than any real answer is not read',
    faults: () => [],
    within: 10_000,
    outcome: 'failed',
    code: 'PINGONE_BAD_RESPONSE',
    text: /larger than any real PingOne answer/,
    audit: ['failed'],
    pingone: { status: 200, errorCode: 'RESPONSE' },
  },
  {
    name: '401 on the API even with a fresh token',
    faults: () => [status(401, 2)],
    within: 10_000,
    outcome: 'failed',
    code: 'PINGONE_401',
    text: /rejected the worker app's access token even after a fresh one/,
    audit: ['failed'],
    pingone: { status: 401, errorCode: 'ACCESS_FAILED' },
    check: (h) => expect(h.tokenRequests()).toBe(2),
  },
  {
    name: 'the token endpoint refuses the credentials',
    faults: () => [status(401, 1, { route: 'token' })],
    within: 10_000,
    outcome: 'failed',
    code: 'PINGONE_AUTH',
    text: /PINGONE_CLIENT_SECRET/,
    audit: ['failed'],
    pingone: { status: 401, errorCode: 'invalid_client' },
  },
];

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('PingOne faults through the real MCP server', () => {
  it.each(ROWS)('$name', async (row) => {
    const h = (harness = await startHarness(row.callTimeoutMs === undefined ? {} : { callTimeoutMs: row.callTimeoutMs }));
    for (const fault of row.faults()) h.emulator.faults.add(fault);
    if (row.name.startsWith('a body far larger')) {
      h.emulator.faults.add({ match: { route: 'users.search' }, action: { kind: 'raw', status: 200, body: hugeUserPage(h) } });
    }
    const { tool, args } = row.call ?? { tool: 'unlock_user', args: { user: 'jdoe', reason: 'INC-fault' } };

    const started = performance.now();
    const collections = [100, 300].map((ms) => setTimeout(collectGarbage, ms));
    const result = await h.call(tool, args);
    const elapsed = performance.now() - started;
    for (const timer of collections) clearTimeout(timer);

    expect(elapsed).toBeLessThan(row.within);
    if (row.notBefore !== undefined) expect(elapsed).toBeGreaterThanOrEqual(row.notBefore);
    expect(result.structured.outcome).toBe(row.outcome);
    expect(result.isError).toBe(row.code !== undefined);
    if (row.code !== undefined) expect(result.structured.error?.code).toBe(row.code);
    if (row.text) expect(result.text).toMatch(row.text);
    // Honest, and never a stack trace or a raw body.
    expect(result.text).not.toMatch(/\n\s+at |<html|<!DOCTYPE|xxxxxxxx/i);

    const records = h.audit().filter((r) => r.auditId === result.structured.auditId);
    expect(records.map((r) => r.outcome ?? r.phase)).toEqual(row.audit);
    if (row.pingone) expect(records.at(-1)?.pingone).toMatchObject(row.pingone);
    await row.check?.(h, result);

    // The server keeps serving.
    h.emulator.faults.clear();
    const next = await h.call('unlock_user', { user: 'bsmith' });
    expect(next.isError).toBe(false);
    expect(next.structured.outcome).toBe('not_locked');
    expect(h.audit().at(-1)).toMatchObject({ auditId: next.structured.auditId, outcome: 'not_locked' });
  });
});
