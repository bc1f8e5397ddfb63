import { describe, expect, it } from 'vitest';
import { DEMO_POPULATIONS, DEMO_USERS } from '../../src/sandbox/seed.js';
import { harnessPerTest, pingOneWrites, type Harness } from '../support/harness.js';

const start = harnessPerTest();

const jdoe = DEMO_USERS.jdoe;

describe('protected users', () => {
  it.each(['JDOE', jdoe.id])('never writes a protected account (listed as %s), explains why, and audits the denial', async (entry) => {
    const h = await start({ env: { PINGONE_MCP_PROTECTED_USERS: `ceo, ${entry}` } });
    const result = await h.call('unlock_user', { user: 'jdoe', reason: 'INC-1' });
    expect(result.isError).toBe(true);
    expect(result.structured.outcome).toBe('denied');
    expect(result.structured.error.code).toBe('PROTECTED_USER');
    expect(result.text).toMatch(/protected account/);
    expect(pingOneWrites(h)).toHaveLength(0);
    expect(h.audit()).toEqual([expect.objectContaining({ phase: 'outcome', outcome: 'denied', reason: 'INC-1', target: expect.objectContaining({ userId: jdoe.id }) })]);
  });

  it('protects device writes too', async () => {
    const h = await start({ env: { PINGONE_MCP_PROTECTED_USERS: 'jdoe' } });
    const result = await h.call('unblock_device', { user: 'jdoe', deviceId: jdoe.blockedSmsDeviceId });
    expect(result.structured.error.code).toBe('PROTECTED_USER');
    expect(pingOneWrites(h)).toHaveLength(0);
  });
});

describe('allowed populations', () => {
  it('denies writes outside the allowed populations and allows them inside', async () => {
    const h = await start({ env: { PINGONE_MCP_ALLOWED_POPULATIONS: DEMO_POPULATIONS.staff } });
    const contractor = await h.call('unlock_user', { user: 'old.contractor' });
    expect(contractor.structured.outcome).toBe('denied');
    expect(contractor.structured.error.code).toBe('POPULATION_NOT_ALLOWED');
    expect(contractor.text).toContain(DEMO_POPULATIONS.contractors);
    expect(pingOneWrites(h)).toHaveLength(0);

    const staff = await h.call('unlock_user', { user: 'jdoe' });
    expect(staff.structured.outcome).toBe('unlocked');
    expect(pingOneWrites(h)).toHaveLength(1);
  });

  it('still lets reads show users of other populations', async () => {
    const h = await start({ env: { PINGONE_MCP_ALLOWED_POPULATIONS: DEMO_POPULATIONS.staff } });
    const result = await h.call('list_user_devices', { user: 'old.contractor' });
    expect(result.isError).toBe(false);
  });
});

describe('write rate limit', () => {
  it('denies writes beyond the limit per minute with when to retry, without counting reads or no-ops', async () => {
    const h = await start({ env: { PINGONE_MCP_MAX_WRITES_PER_MINUTE: '2' } });
    expect((await h.call('unlock_user', { user: 'jdoe' })).structured.outcome).toBe('unlocked');
    expect((await h.call('unlock_user', { user: 'jdoe' })).structured.outcome).toBe('not_locked');
    expect((await h.call('find_user', { query: 'jdoe' })).structured.outcome).toBe('found');
    expect((await h.call('unblock_device', { user: 'jdoe', deviceId: jdoe.blockedSmsDeviceId })).structured.outcome).toBe('unblocked');

    const third = await h.call('unlock_device', { user: 'jdoe', deviceId: jdoe.lockedEmailDeviceId });
    expect(third.structured.outcome).toBe('denied');
    expect(third.structured.error).toMatchObject({ code: 'WRITE_RATE_LIMITED' });
    expect(third.structured.error.retryAfterSeconds).toBeGreaterThan(0);
    expect(third.structured.error.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(third.text).toMatch(/at most 2 writes per minute/);
    expect(pingOneWrites(h)).toHaveLength(2);
    expect(h.audit().at(-1)).toMatchObject({ tool: 'unlock_device', outcome: 'denied' });
  });
});

describe('required reason', () => {
  it('refuses a write without a reason before any request, and allows reads', async () => {
    const h = await start({ env: { PINGONE_MCP_REQUIRE_REASON: 'true' } });
    const blank = await h.call('unlock_user', { user: 'jdoe', reason: '   ' });
    expect(blank.structured.outcome).toBe('invalid_input');
    expect(blank.text).toMatch(/reason.*required/i);
    const missing = await h.call('unlock_user', { user: 'jdoe' });
    expect(missing.structured.outcome).toBe('invalid_input');
    expect(h.emulator.requests).toHaveLength(0);
    expect((await h.call('find_user', { query: 'jdoe' })).isError).toBe(false);
    expect((await h.call('unlock_user', { user: 'jdoe', reason: 'INC-9' })).structured.outcome).toBe('unlocked');
  });
});

describe('dryRun', () => {
  it('checks everything, reports what would be done, writes nothing, and audits dry_run', async () => {
    const h = await start();
    const result = await h.call('unblock_device', { user: 'jdoe', deviceId: jdoe.blockedSmsDeviceId, reason: 'INC-4', dryRun: true });
    expect(result.isError).toBe(false);
    expect(result.structured.outcome).toBe('dry_run');
    expect(result.text).toMatch(/^Dry run: this would unblock the SMS device .* of jdoe \(Jane Doe\)/);
    expect(pingOneWrites(h)).toHaveLength(0);
    expect(h.emulator.getDevice(jdoe.id, jdoe.blockedSmsDeviceId)?.block?.status).toBe('BLOCKED');
    expect(h.audit()).toEqual([expect.objectContaining({ phase: 'outcome', outcome: 'dry_run', reason: 'INC-4' })]);
  });

  it('reports a guard that would refuse the write', async () => {
    const h = await start({ env: { PINGONE_MCP_PROTECTED_USERS: 'jdoe' } });
    const result = await h.call('unlock_user', { user: 'jdoe', dryRun: true });
    expect(result.structured.outcome).toBe('denied');
  });

  it('does not count against the write limit', async () => {
    const h = await start({ env: { PINGONE_MCP_MAX_WRITES_PER_MINUTE: '1' } });
    await h.call('unlock_user', { user: 'jdoe', dryRun: true });
    await h.call('unlock_user', { user: 'jdoe', dryRun: true });
    expect((await h.call('unlock_user', { user: 'jdoe' })).structured.outcome).toBe('unlocked');
  });
});

describe('dryRun reports what the real call would refuse', () => {
  it('a confirmation this client cannot give', async () => {
    const h = await start({ env: { PINGONE_MCP_CONFIRM: 'always' } });
    const result = await h.call('unlock_user', { user: 'jdoe', dryRun: true });
    expect(result.structured).toMatchObject({ outcome: 'denied', error: { code: 'CONFIRMATION_UNAVAILABLE' } });
  });

  it('an audit trail that cannot record the write', async () => {
    const h = await start({
      audit: {
        append: async (entry) => ({ ...entry, time: '', seq: 1, prevHash: '', hash: '' }),
        status: () => ({ state: 'broken', reason: 'its last record does not verify.' }),
      },
    });
    const result = await h.call('unlock_user', { user: 'jdoe', dryRun: true });
    expect(result.structured).toMatchObject({ outcome: 'failed', error: { code: 'AUDIT_UNAVAILABLE', responsible: 'admin' } });
    expect(result.text).toMatch(/would be refused/);
  });
});
