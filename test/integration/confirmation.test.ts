import type { ElicitRequest, ElicitResult } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { DEMO_POPULATIONS, DEMO_USERS } from '../../src/sandbox/seed.js';
import { ERAS, harnessPerTest, pingOneWrites, type Harness } from '../support/harness.js';

const start = harnessPerTest();

/** A person who answers every question the same way, remembering what was asked. */
function person(answer: ElicitResult) {
  const asked: Array<ElicitRequest['params']> = [];
  return {
    asked,
    answer: (params: ElicitRequest['params']) => {
      asked.push(params);
      return answer;
    },
  };
}

describe.each(ERAS)('confirmation by a person over a %s-era connection', (era) => {
  it('asks before the write and proceeds on accept, under one audit id', async () => {
    const p = person({ action: 'accept', content: { confirm: true } });
    const harness = await start({ era, answer: p.answer });
    const result = await harness.call('unlock_user', { user: 'jdoe', reason: 'INC-123' });

    expect(p.asked).toHaveLength(1);
    expect(p.asked[0]?.message).toBe(
      `Unlock the account "jdoe" (name "Jane Doe", user ID ${DEMO_USERS.jdoe.id}, population ${DEMO_POPULATIONS.staff})? Reason given: "INC-123"`,
    );
    expect(result.structured.outcome).toBe('unlocked');
    expect(pingOneWrites(harness)).toHaveLength(1);
    const records = harness.audit();
    // The question named the account before anyone answered: it has its own record.
    expect(records.map((r) => r.phase)).toEqual(['asked', 'intent', 'outcome']);
    expect(records.every((r) => r.auditId === result.structured.auditId)).toBe(true);
    const transactionIds = new Set(harness.emulator.requests.filter((r) => r.route !== 'token').map((r) => r.headers['x-ping-external-transaction-id']));
    expect(transactionIds).toEqual(new Set([result.structured.auditId]));
  });

  it.each([
    ['declines', { action: 'decline' } as ElicitResult, /declined/],
    ['dismisses the question', { action: 'cancel' } as ElicitResult, /dismissed/],
    ['accepts without ticking confirm', { action: 'accept', content: { confirm: false } } as ElicitResult, /without confirming/],
  ])('writes nothing and audits denied when the person %s', async (_, answer, explanation) => {
    const p = person(answer);
    const harness = await start({ era, answer: p.answer });
    const result = await harness.call('unblock_device', { user: 'jdoe', deviceId: DEMO_USERS.jdoe.blockedSmsDeviceId, reason: 'INC-5' });
    expect(p.asked).toHaveLength(1);
    expect(result.isError).toBe(true);
    expect(result.structured.outcome).toBe('denied');
    expect(result.structured.error.code).toBe('NOT_CONFIRMED');
    expect(result.text).toMatch(explanation);
    expect(pingOneWrites(harness)).toHaveLength(0);
    expect(harness.audit()).toEqual([
      expect.objectContaining({ phase: 'asked', auditId: result.structured.auditId }),
      expect.objectContaining({ phase: 'outcome', outcome: 'denied', auditId: result.structured.auditId }),
    ]);
  });

  it('identifies the target by its IDs: two accounts alike in every display field get different questions', async () => {
    const p = person({ action: 'decline' });
    const harness = await start({ era, answer: p.answer });
    const twins = ['0e4f6a2b-1c3d-4e5f-8a9b-0c1d2e3f4a5b', '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a'];
    for (const [i, id] of twins.entries()) {
      harness.emulator.putUser({
        id,
        username: `a${i}@corp.example`,
        name: { given: 'Ada', family: 'Admin' },
        enabled: true,
        population: { id: DEMO_POPULATIONS.staff },
        account: { status: 'LOCKED', canAuthenticate: false },
      });
      await harness.call('unlock_user', { user: id });
    }
    expect(p.asked).toHaveLength(2);
    const [first, second] = p.asked.map((q) => q.message);
    expect(first).not.toBe(second);
    expect(first).toContain(`user ID ${twins[0]}`);
    expect(second).toContain(`user ID ${twins[1]}`);
    // Masked usernames stay masked in the question.
    expect(first).not.toContain('a0@corp.example');
  });

  it('names the device by its ID in the question', async () => {
    const p = person({ action: 'decline' });
    const harness = await start({ era, answer: p.answer });
    await harness.call('unblock_device', { user: 'jdoe', deviceId: DEMO_USERS.jdoe.blockedSmsDeviceId });
    expect(p.asked[0]?.message).toContain(`device ID ${DEMO_USERS.jdoe.blockedSmsDeviceId}`);
    expect(p.asked[0]?.message).toContain(`user ID ${DEMO_USERS.jdoe.id}`);
  });

  it('does not ask when there is nothing to change', async () => {
    const p = person({ action: 'accept', content: { confirm: true } });
    const harness = await start({ era, answer: p.answer });
    const result = await harness.call('unlock_user', { user: 'bsmith' });
    expect(result.structured.outcome).toBe('not_locked');
    expect(p.asked).toHaveLength(0);
  });

  it('refuses with PINGONE_MCP_CONFIRM=always when the client cannot ask', async () => {
    const harness = await start({ era, env: { PINGONE_MCP_CONFIRM: 'always' } });
    const result = await harness.call('unlock_user', { user: 'jdoe' });
    expect(result.structured.outcome).toBe('denied');
    expect(result.structured.error).toMatchObject({ code: 'CONFIRMATION_UNAVAILABLE', responsible: 'admin' });
    expect(pingOneWrites(harness)).toHaveLength(0);
  });

  it('proceeds with PINGONE_MCP_CONFIRM=auto when the client cannot ask (its own approval is the human step)', async () => {
    const harness = await start({ era });
    const result = await harness.call('unlock_user', { user: 'jdoe' });
    expect(result.structured.outcome).toBe('unlocked');
  });

  it('never asks with PINGONE_MCP_CONFIRM=never', async () => {
    const p = person({ action: 'decline' });
    const harness = await start({ era, answer: p.answer, env: { PINGONE_MCP_CONFIRM: 'never' } });
    const result = await harness.call('unlock_user', { user: 'jdoe' });
    expect(result.structured.outcome).toBe('unlocked');
    expect(p.asked).toHaveLength(0);
  });
});
