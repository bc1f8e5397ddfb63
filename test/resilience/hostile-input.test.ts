import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../src/sandbox/emulator.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { startHarness, type Harness } from '../support/harness.js';

/**
 * Whatever an agent puts in whatever argument of whatever tool, the server
 * answers with a clear isError or a correct result, never crashes, and never
 * sends PingOne a request outside the URL and filter shapes the tools build.
 * Tools and their arguments are read from tools/list, so a tool added later is
 * covered without touching this file.
 */

const RUNS = 150;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** A complete JSON string literal: quotes inside it are always escaped. */
const QUOTED = String.raw`("(?:[^"\\]|\\.)*")`;
const FILTER_SHAPES: RegExp[] = [
  new RegExp(`^username eq ${QUOTED} or email eq ${QUOTED}$`),
  new RegExp(`^username sw ${QUOTED} or email eq ${QUOTED} or name\\.given sw ${QUOTED} or name\\.family sw ${QUOTED}$`),
  new RegExp(`^name\\.given sw ${QUOTED} and name\\.family sw ${QUOTED}$`),
];
const ACTION_TYPES = /^application\/vnd\.pingidentity\.(account\.unlock|device\.unblock|device\.unlock)\+json$/;
const FAILURE_OUTCOMES = new Set(['failed', 'invalid_input', 'denied', 'interrupted']);

interface ToolShape {
  name: string;
  properties: Record<string, { type?: string }>;
  outcomes: string[];
}

let harness: Harness;
let tools: ToolShape[];

beforeAll(async () => {
  harness = await startHarness({ env: { PINGONE_MCP_MAX_WRITES_PER_MINUTE: '100000' } });
  const listed = await harness.client.listTools();
  tools = listed.tools.map((tool) => ({
    name: tool.name,
    properties: (tool.inputSchema.properties ?? {}) as ToolShape['properties'],
    outcomes: ((tool.outputSchema?.properties as Record<string, { enum?: string[] }> | undefined)?.outcome?.enum ?? []) as string[],
  }));
  expect(tools.length).toBeGreaterThanOrEqual(2);
});

afterAll(async () => {
  await harness.close();
});

// ---- what an agent might send ------------------------------------------------

const jdoe = DEMO_USERS.jdoe;
const realValues = ['jdoe', 'bsmith', 'Jane Doe', 'jane.doe@example.com', jdoe.id, jdoe.id.toUpperCase(), ` ${jdoe.id} `, jdoe.blockedSmsDeviceId, jdoe.lockedEmailDeviceId];
const pathTricks = ['..', '%2e%2e', '%2E%2E', '/', '\\', '?', '#', '&', '%2F', '%00', '../../as/token', `${jdoe.id}/..`, `${jdoe.id}/devices/${jdoe.blockedSmsDeviceId}`, `${jdoe.id}?filter=x`, `${jdoe.id}#x`, `../${jdoe.id}`, 'users?limit=1000'];
const filterTricks = ['" or username sw "', 'x" or username sw "', 'jdoe" or email pr or "', '\\" or 1 eq 1 or \\"', '") or (username sw "', 'jdoe\\', '"', '\\', '*', 'jdoe" and enabled eq true and "'];
const controlCharacters = fc.string({ unit: fc.integer({ min: 0, max: 0x9f }).filter((c) => c < 0x20 || c >= 0x7f).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 4 });

const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...realValues, ...pathTricks, ...filterTricks, '', ' ', '\u2028', '\ufeffjdoe', 'jdoe\u0000', 'ｊｄｏｅ'),
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.tuple(fc.constantFrom(...realValues, ''), controlCharacters, fc.constantFrom('', 'X-Injected: 1', 'jdoe')).map((parts) => parts.join('')),
  fc.array(fc.oneof(fc.constantFrom(...pathTricks, ...filterTricks, ...realValues), fc.string({ maxLength: 5 })), { minLength: 1, maxLength: 5 }).map((parts) => parts.join('')),
  fc.integer({ min: 200, max: 100_000 }).map((n) => 'a'.repeat(n)),
);

const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  fc.constantFrom('true', 'jdoe', jdoe.id, '1'),
);

function valueFor(schema: { type?: string }, types: 'right' | 'any'): fc.Arbitrary<unknown> {
  const right = schema.type === 'string' ? hostileString : schema.type === 'boolean' ? fc.boolean() : fc.jsonValue({ maxDepth: 2 });
  return types === 'right' ? right : fc.oneof(right, wrongType);
}

function argsFor(tool: ToolShape, types: 'right' | 'any'): fc.Arbitrary<Record<string, unknown>> {
  const names = Object.keys(tool.properties);
  const present = fc.subarray(names, { minLength: types === 'right' ? names.length : 0 });
  const extra = types === 'right' ? fc.constant({}) : fc.dictionary(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', 'userId', 'filter', 'confirm')), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 });
  return fc.tuple(present, extra).chain(([keys, extras]) =>
    fc.record(Object.fromEntries(keys.map((key) => [key, valueFor(tool.properties[key] ?? {}, types)]))).map((args) => ({ ...extras, ...args })),
  );
}

const callOf = (types: 'right' | 'any') => fc.constantFrom(...tools).chain((tool) => argsFor(tool, types).map((args) => ({ tool, args })));

// ---- what must hold -----------------------------------------------------------

function stringsIn(args: Record<string, unknown>): string[] {
  return Object.values(args).filter((value): value is string => typeof value === 'string');
}

/** Every request is one the tools legitimately build: exact path shapes, UUID segments, a quoted filter. */
function expectAllowed(request: RecordedRequest, args: Record<string, unknown>): void {
  const env = harness.emulator.environmentId;
  const api = `/v1/environments/${env}`;
  const shapes: Array<[string, string, RegExp, string[]]> = [
    ['token', 'POST', new RegExp(`^/${env}/as/token$`), []],
    ['users.search', 'GET', new RegExp(`^${api}/users$`), ['filter', 'limit']],
    ['user.get', 'GET', new RegExp(`^${api}/users/${UUID}$`), []],
    ['user.action', 'POST', new RegExp(`^${api}/users/${UUID}$`), []],
    ['password.get', 'GET', new RegExp(`^${api}/users/${UUID}/password$`), []],
    ['password.action', 'POST', new RegExp(`^${api}/users/${UUID}/password$`), []],
    ['devices.list', 'GET', new RegExp(`^${api}/users/${UUID}/devices$`), []],
    ['device.get', 'GET', new RegExp(`^${api}/users/${UUID}/devices/${UUID}$`), []],
    ['device.action', 'POST', new RegExp(`^${api}/users/${UUID}/devices/${UUID}$`), []],
    // find_user reads a single match's password state; unlock_user may clear a password lockout.
    ['password.get', 'GET', new RegExp(`^${api}/users/${UUID}/password$`), []],
    ['password.action', 'POST', new RegExp(`^${api}/users/${UUID}/password$`), []],
  ];
  const shape = shapes.find(([route]) => route === request.route);
  expect(shape, `unexpected request ${request.method} ${request.path}`).toBeDefined();
  const [, method, path, queryKeys] = shape!;
  expect(request.method).toBe(method);
  expect(request.path).toMatch(path);
  expect(Object.keys(request.query).sort()).toEqual([...queryKeys].sort());
  if (request.route.endsWith('.action')) {
    expect(request.contentType).toMatch(ACTION_TYPES);
    expect(request.body).toBe('');
  }
  if (request.route === 'users.search') {
    expect(request.query.limit).toMatch(/^\d{1,3}$/);
    const filter = request.query.filter ?? '';
    const match = FILTER_SHAPES.map((re) => re.exec(filter)).find((m) => m !== null);
    expect(match, `filter outside the allowed shapes: ${filter}`).toBeDefined();
    const values = match!.slice(1).map((literal) => JSON.parse(literal) as string);
    // One value throughout, except the two-word name search (given name, family name).
    if (!filter.startsWith('name.given sw')) expect(new Set(values).size).toBe(1);
    // Each quoted value is (part of) what the agent sent, never anything else.
    for (const value of values) expect(stringsIn(args).some((arg) => arg.includes(value))).toBe(true);
  }
}

async function callAndCheck(call: { tool: ToolShape; args: Record<string, unknown> }): Promise<void> {
  const before = harness.emulator.requests.length;
  const result = await harness.client.callTool({ name: call.tool.name, arguments: call.args });
  const text = (result.content as Array<{ type: string; text?: string }>).map((block) => block.text ?? '').join(' ');
  expect(text.length).toBeGreaterThan(0);
  expect(text).not.toMatch(/\n\s+at |TypeError|ReferenceError|undefined is not/);
  const structured = result.structuredContent as { outcome?: string; error?: { code?: string } } | undefined;
  if (result.isError === true) {
    // A failure the agent can act on; an SDK validation failure has no structured part.
    if (structured !== undefined) {
      expect(FAILURE_OUTCOMES.has(structured.outcome ?? '')).toBe(true);
      expect(structured.error?.code).not.toBe('INTERNAL_ERROR');
    } else {
      expect(text).toMatch(/Input validation error|Invalid arguments/);
    }
  } else {
    expect(structured?.outcome).toBeDefined();
    expect(call.tool.outcomes).toContain(structured!.outcome);
    expect(FAILURE_OUTCOMES.has(structured!.outcome!)).toBe(false);
  }
  for (const request of harness.emulator.requests.slice(before)) expectAllowed(request, call.args);
}

describe('hostile input in every argument of every tool', () => {
  it('first, every tool answers a plain call within its declared output schema (the client checks it)', async () => {
    const plain: Record<string, unknown> = { user: 'jdoe', query: 'jdoe', deviceId: jdoe.blockedSmsDeviceId, reason: 'INC-plain', dryRun: true };
    for (const tool of tools) {
      const names = Object.keys(tool.properties);
      if (!names.every((name) => name in plain)) continue;
      const args = Object.fromEntries(names.map((name) => [name, plain[name]]));
      // callTool rejects (-32602) when structuredContent does not match the tool's outputSchema.
      await expect(harness.client.callTool({ name: tool.name, arguments: args }), `${tool.name} ${JSON.stringify(args)}`).resolves.toMatchObject({
        structuredContent: { outcome: expect.any(String) },
      });
    }
  });

  it(`hostile strings (Unicode, control characters, path tricks, filter injection, huge) — ${RUNS} runs`, async () => {
    await fc.assert(fc.asyncProperty(callOf('right'), callAndCheck), { numRuns: RUNS });
  });

  it(`wrong types, missing and extra fields — ${RUNS} runs`, async () => {
    await fc.assert(fc.asyncProperty(callOf('any'), callAndCheck), { numRuns: RUNS });
  });

  it('still serves a normal call afterwards, and the audit trail still verifies', async () => {
    const result = await harness.call('unlock_user', { user: 'bsmith' });
    expect(result.structured.outcome).toBe('not_locked');
    const { verifyAuditFile } = await import('../../src/audit/verify.js');
    expect(await verifyAuditFile(harness.auditPath)).toMatchObject({ ok: true });
  });
});
