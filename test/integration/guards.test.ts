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
    expect(result.structured.outcome).toBe('denied');
    expect(result.structured.error.code).toBe('PROTECTED_USER');
    expect(pingOneWrites(h)).toHaveLength(0);
    expect(h.emulator.getDevice(jdoe.id, jdoe.blockedSmsDeviceId)?.block?.status).toBe('BLOCKED');
    expect(h.audit()).toEqual([expect.objectContaining({ outcome: 'denied', target: expect.objectContaining({ userId: jdoe.id, deviceId: jdoe.blockedSmsDeviceId }) })]);
  });
});

describe("protected users match PingOne's raw identity, never a display form", () => {
  // Many tenants name their admins by email or by a long employee number: both are masked for display,
  // so a guard that compared display forms would never match them.
  const admin = { id: '0b7e3f52-6a1d-4c55-9d0e-5f0c2b9a7e11', username: 'Admin@Corp.Example', email: 'it-admin@corp.example' };
  const number = { id: '7d3c1e0a-8b5f-4e2d-a1c9-3f6b8d2e4a70', username: '100200300400', email: 'n100@corp.example' };
  const locked = (user: { id: string; username: string; email: string }) => ({
    ...user,
    name: { given: 'Ada', family: 'Admin' },
    enabled: true,
    population: { id: DEMO_POPULATIONS.staff },
    account: { status: 'LOCKED', canAuthenticate: false },
  });

  it.each([
    ['its email-shaped username', admin, 'admin@corp.example', 'Admin@Corp.Example'],
    ['its email', admin, 'IT-ADMIN@corp.example', admin.id],
    ['its ID', admin, admin.id.toUpperCase(), 'admin@corp.example'],
    ['its number-shaped username', number, '100200300400', '100200300400'],
  ])('denies a write to an admin listed by %s, whatever the agent called it', async (_what, user, entry, asked) => {
    const h = await start({ env: { PINGONE_MCP_PROTECTED_USERS: entry } });
    h.emulator.putUser(locked(user));
    const result = await h.call('unlock_user', { user: asked, reason: 'INC-7' });
    expect(result.structured.outcome).toBe('denied');
    expect(result.structured.error.code).toBe('PROTECTED_USER');
    expect(pingOneWrites(h)).toHaveLength(0);
    expect(h.emulator.getUser(user.id)?.account?.status).toBe('LOCKED');
  });

  it('matches after Unicode NFC normalisation, so a decomposed spelling is the same account', async () => {
    const h = await start({ env: { PINGONE_MCP_PROTECTED_USERS: 'JOSE\u0301' } });
    h.emulator.putUser(locked({ id: admin.id, username: 'Jos\u00e9', email: 'jose@corp.example' }));
    const result = await h.call('unlock_user', { user: admin.id });
    expect(result.structured.error?.code).toBe('PROTECTED_USER');
    expect(pingOneWrites(h)).toHaveLength(0);
  });

  it('find_user and list_user_devices do not advertise a write the guards would deny', async () => {
    const h = await start({ env: { PINGONE_MCP_PROTECTED_USERS: 'admin@corp.example' } });
    h.emulator.putUser(locked(admin));
    const found = await h.call('find_user', { query: admin.id });
    expect(found.structured.users[0].nextStep).toMatch(/protected: a PingOne administrator handles this account/);
    expect(found.structured.users[0].nextStep).not.toMatch(/unlock_user can help$/);
    h.emulator.putDevice(admin.id, {
      id: 'c0ffee00-1111-4222-8333-444455556666',
      type: 'SMS',
      phone: '+15555550100',
      block: { status: 'BLOCKED' },
      lock: { status: 'UNLOCKED' },
    });
    const listed = await h.call('list_user_devices', { user: admin.id });
    expect(listed.structured.devices[0].nextStep).toMatch(/protected: a PingOne administrator handles this account/);
    expect(listed.text).toMatch(/protected/);
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
    expect(result.structured.outcome).toBe('listed');
    expect(result.structured.user).toMatchObject({ username: 'old.contractor', populationId: DEMO_POPULATIONS.contractors });
    expect(pingOneWrites(h)).toHaveLength(0);
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
    expect(result.text).toMatch(/^Dry run: this would unblock the SMS device .* of jdoe \("Jane Doe"\)/);
    expect(pingOneWrites(h)).toHaveLength(0);
    expect(h.emulator.getDevice(jdoe.id, jdoe.blockedSmsDeviceId)?.block?.status).toBe('BLOCKED');
    expect(h.audit()).toEqual([expect.objectContaining({ phase: 'outcome', outcome: 'dry_run', reason: 'INC-4' })]);
  });

  it('reports a guard that would refuse the write', async () => {
    const h = await start({ env: { PINGONE_MCP_PROTECTED_USERS: 'jdoe' } });
    const result = await h.call('unlock_user', { user: 'jdoe', dryRun: true });
    expect(result.structured.outcome).toBe('denied');
    expect(result.structured.error).toMatchObject({ code: 'PROTECTED_USER', responsible: 'admin' });
    expect(pingOneWrites(h)).toHaveLength(0);
    expect(h.audit()).toEqual([expect.objectContaining({ outcome: 'denied', target: expect.objectContaining({ userId: jdoe.id }) })]);
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
    expect(pingOneWrites(h)).toHaveLength(0);
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
