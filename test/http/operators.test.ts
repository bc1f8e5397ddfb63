import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { verifyAuditFile } from '../../src/audit/verify.js';
import type { User } from '../../src/pingone/model.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { ERAS } from '../support/harness.js';
import { httpHarnessPerTest, READ_SCOPE, structuredOf, WRITE_SCOPE, type HttpHarness } from './support.js';

/**
 * Team deployment, the tool side: operators named by real signed tokens
 * (a loopback issuer with a JWKS, the real JWT verifier), the official SDK
 * client over Streamable HTTP, PingOne played by the emulator.
 */
const READ = READ_SCOPE;
const WRITE = WRITE_SCOPE;

const start = httpHarnessPerTest();

async function harness(env: Record<string, string> = {}): Promise<HttpHarness> {
  return start({
    // PINGONE_MCP_OPERATOR is set to prove it does not apply over HTTP.
    env: { PINGONE_MCP_CONFIRM: 'never', PINGONE_MCP_OPERATOR: 'Configured Person', ...env },
    oauth: {},
  });
}

function tokenFor(h: HttpHarness, subject: string, scopes: string[], name?: string): Promise<string> {
  return h.oauth!.token({ subject, scope: scopes.join(' '), ...(name ? { claims: { preferred_username: name } } : {}) });
}

/** The issuer of the harness's tokens. */
function issuerOf(h: HttpHarness): string {
  return h.oauth!.idp.issuer;
}

/** A locked copy of jdoe under a fresh ID: a write of its own to make. */
function lockedUser(h: HttpHarness): User {
  const template = h.emulator.getUser(DEMO_USERS.jdoe.id) as User;
  const username = `locked-${randomUUID().slice(0, 8)}`;
  const user = { ...structuredClone(template), id: randomUUID(), username, email: `${username}@example.com`, account: { status: 'LOCKED', canAuthenticate: false } } as User;
  h.emulator.putUser(user);
  return user;
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((tool) => tool.name).sort();
}

describe.each(ERAS)('verified operators over HTTP (%s era)', (era) => {
  it('records every record of a call with the token issuer, subject and masked name, never PINGONE_MCP_OPERATOR', async () => {
    const h = await harness();
    const subject = randomUUID();
    const client = await h.connect({ era, token: await tokenFor(h, subject, [READ, WRITE], 'dana.helpdesk@example.com') });
    const user = lockedUser(h);
    const result = structuredOf(await client.callTool({ name: 'unlock_user', arguments: { user: user.id, reason: 'INC-7' } }));
    expect(result.outcome).toBe('unlocked');
    const records = h.audit().filter((record) => record.auditId === result.auditId);
    expect(records.map((record) => record.phase)).toEqual(['intent', 'outcome']);
    for (const record of records) {
      expect(record.v).toBe(2);
      expect(record.actor.verified).toEqual({ issuer: issuerOf(h), subject });
      expect(record.actor.operator).toBe('d***@example.com');
      expect(JSON.stringify(record)).not.toContain('Configured Person');
      expect(JSON.stringify(record)).not.toContain('dana.helpdesk');
    }
    expect(await verifyAuditFile(h.auditPath)).toMatchObject({ ok: true });
  });

  it('shows a read-only operator only the reads, and answers their write with a 403 step-up, recorded as denied', async () => {
    const h = await harness();
    const subject = randomUUID();
    const statuses: Array<{ status: number; challenge: string | null }> = [];
    const recording: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      statuses.push({ status: response.status, challenge: response.headers.get('www-authenticate') });
      return response;
    };
    const reader = await h.connect({ era, token: await tokenFor(h, subject, [READ], 'reader'), fetch: recording });
    expect(await toolNames(reader)).toEqual(['find_user', 'list_user_devices']);
    const writer = await h.connect({ era, token: await tokenFor(h, randomUUID(), [READ, WRITE], 'writer') });
    expect(await toolNames(writer)).toEqual(['find_user', 'list_user_devices', 'unblock_device', 'unlock_device', 'unlock_user']);

    const user = lockedUser(h);
    await expect(reader.callTool({ name: 'unlock_user', arguments: { user: user.id, reason: 'INC-8' } })).rejects.toThrow();
    const refused = statuses.find((entry) => entry.status === 403);
    expect(refused?.challenge).toMatch(/^Bearer /);
    expect(refused?.challenge).toContain('error="insufficient_scope"');
    expect(refused?.challenge).toContain(`scope="${READ} ${WRITE}"`);
    expect(refused?.challenge).toContain('resource_metadata="');
    expect(h.emulator.getUser(user.id)?.account?.status).toBe('LOCKED');
    const denied = h.audit().filter((record) => record.tool === 'unlock_user');
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ phase: 'outcome', outcome: 'denied', actor: { operator: 'reader', verified: { issuer: issuerOf(h), subject } } });
    // Reads still work for them.
    expect(structuredOf(await reader.callTool({ name: 'find_user', arguments: { query: 'jdoe' } })).outcome).toBe('found');
    // The refusal names the client the way the calls it made do.
    const found = h.audit().find((record) => record.tool === 'find_user' && record.actor.operator === 'reader');
    expect(found?.actor.client).toMatch(/\S/);
    expect(denied[0]?.actor.client).toBe(found?.actor.client);
  });

  it('denies a change to the operator\'s own account, and records it', async () => {
    const h = await harness();
    const self = h.emulator.getUser(DEMO_USERS.jdoe.id) as User;
    const client = await h.connect({ era, token: await tokenFor(h, self.id, [READ, WRITE], 'me') });
    for (const args of [{ user: self.id, reason: 'INC-9' }, { user: self.username, reason: 'INC-9', dryRun: true }]) {
      const result = structuredOf(await client.callTool({ name: 'unlock_user', arguments: args }));
      expect(result).toMatchObject({ outcome: 'denied', error: { code: 'SELF_CHANGE' } });
      expect(h.audit().find((record) => record.auditId === result.auditId)).toMatchObject({ outcome: 'denied', target: { userId: self.id } });
    }
    const device = structuredOf(
      await client.callTool({ name: 'unblock_device', arguments: { user: self.id, deviceId: DEMO_USERS.jdoe.blockedSmsDeviceId, reason: 'INC-9' } }),
    );
    expect(device).toMatchObject({ outcome: 'denied', error: { code: 'SELF_CHANGE' } });
    expect(h.emulator.getUser(self.id)?.account?.status).toBe('LOCKED');
    // Someone else may: the guard is about who acts, not about the account.
    const colleague = await h.connect({ era, token: await tokenFor(h, randomUUID(), [READ, WRITE], 'colleague') });
    expect(structuredOf(await colleague.callTool({ name: 'unlock_user', arguments: { user: self.id, reason: 'INC-9' } })).outcome).toBe('unlocked');
  });
});

describe('per-operator write limit over HTTP', () => {
  it('is exact per operator (issuer and subject) beside the server-wide one', async () => {
    const h = await harness({ PINGONE_MCP_MAX_WRITES_PER_OPERATOR_PER_MINUTE: '2', PINGONE_MCP_MAX_WRITES_PER_MINUTE: '5' });
    const operators = await Promise.all([0, 1, 2].map(async (i) => h.connect({ era: i % 2 === 0 ? 'modern' : 'legacy', token: await tokenFor(h, `operator-${i}`, [READ, WRITE]) })));
    const outcomes = await Promise.all(
      operators.flatMap((client, i) =>
        [0, 1, 2].map(async () => ({ operator: i, result: structuredOf(await client.callTool({ name: 'unlock_user', arguments: { user: lockedUser(h).id, reason: 'INC-10' } })) })),
      ),
    );
    const unlockedBy = [0, 1, 2].map((i) => outcomes.filter((entry) => entry.operator === i && entry.result.outcome === 'unlocked').length);
    // Nine attempts: each operator gets at most 2, and the server at most 5 in all.
    expect(unlockedBy.every((count) => count <= 2)).toBe(true);
    expect(unlockedBy.reduce((a, b) => a + b, 0)).toBe(5);
    const refusals = outcomes.filter((entry) => entry.result.outcome !== 'unlocked');
    expect(refusals).toHaveLength(4);
    for (const refusal of refusals) expect(refusal.result.error?.code).toBe('WRITE_RATE_LIMITED');
    const outcomeRecords = h.audit().filter((record) => record.phase === 'outcome' && record.tool === 'unlock_user');
    expect(outcomeRecords).toHaveLength(9);
  });

  it('gives each operator exactly their own limit when the server-wide one is not reached', async () => {
    const h = await harness({ PINGONE_MCP_MAX_WRITES_PER_OPERATOR_PER_MINUTE: '2', PINGONE_MCP_MAX_WRITES_PER_MINUTE: '100' });
    // Same subject at two issuers would be two people; here: two subjects at one issuer.
    const clients = await Promise.all(['alice', 'bob'].map(async (subject) => h.connect({ era: 'modern', token: await tokenFor(h, subject, [READ, WRITE]) })));
    const outcomes = await Promise.all(
      clients.map(async (client) => Promise.all([0, 1, 2, 3].map(async () => structuredOf(await client.callTool({ name: 'unlock_user', arguments: { user: lockedUser(h).id, reason: 'INC-11' } })).outcome))),
    );
    for (const mine of outcomes) expect(mine.sort()).toEqual(['denied', 'denied', 'unlocked', 'unlocked']);
  });

});

describe('confirmations over HTTP', () => {
  it('binds the sealed question to the operator: another operator bringing the answer back is refused, and the question stays the asker\'s', async () => {
    const h = await harness({ PINGONE_MCP_CONFIRM: 'always' });
    const tokenA = await tokenFor(h, 'operator-a', [READ, WRITE]);
    const tokenB = await tokenFor(h, 'operator-b', [READ, WRITE]);
    const replays: string[] = [];
    const replayAsB: typeof fetch = async (input, init) => {
      const body = typeof init?.body === 'string' ? init.body : '';
      if (body.includes('"requestState"')) {
        const headers = new Headers(init?.headers);
        headers.set('authorization', `Bearer ${tokenB}`);
        replays.push(await (await fetch(input, { ...init, headers })).text());
      }
      return fetch(input, init);
    };
    const user = lockedUser(h);
    const client = await h.connect({ era: 'modern', token: tokenA, fetch: replayAsB, answer: () => ({ action: 'accept', content: { confirm: true } }) });
    const result = structuredOf(await client.callTool({ name: 'unlock_user', arguments: { user: user.id, reason: 'INC-12' } }));
    expect(replays).toHaveLength(1);
    expect(replays[0]).toContain('CONFIRMATION_MISMATCH');
    expect(replays[0]).toContain('another operator');
    expect(result.outcome).toBe('unlocked');
    const refused = h.audit().filter((record) => record.outcome === 'denied');
    expect(refused).toHaveLength(1);
    expect(refused[0]?.actor.verified?.subject).toBe('operator-b');
  });

  it('auto asks a client that can, over HTTP, as the asker', async () => {
    const h = await harness({ PINGONE_MCP_CONFIRM: 'auto' });
    const questions: string[] = [];
    const client = await h.connect({
      era: 'legacy',
      token: await tokenFor(h, 'operator-c', [READ, WRITE]),
      answer: (request) => {
        questions.push(String(request.message));
        return { action: 'accept', content: { confirm: true } };
      },
    });
    const user = lockedUser(h);
    expect(structuredOf(await client.callTool({ name: 'unlock_user', arguments: { user: user.id, reason: 'INC-13' } })).outcome).toBe('unlocked');
    expect(questions).toHaveLength(1);
    expect(questions[0]).toContain(user.username);
  });
});
