import { describe, expect, it } from 'vitest';
import { DEMO_POPULATIONS, DEMO_USERS, SHARED_MAILBOX_EMAIL } from '../../src/sandbox/seed.js';
import { ERAS, harnessPerTest, pingOneWrites, type Harness } from '../support/harness.js';

const start = harnessPerTest();

describe.each(ERAS)('find_user over a %s-era connection', (era) => {
  it('finds a locked user by username with account state, masked email and the next step', async () => {
    const h = await start({ era });
    const result = await h.call('find_user', { query: 'jdoe' });
    expect(result.isError).toBe(false);
    expect(result.structured.outcome).toBe('found');
    expect(result.structured.users).toHaveLength(1);
    expect(result.structured.users[0]).toMatchObject({
      id: DEMO_USERS.jdoe.id,
      username: 'jdoe',
      email: 'j***@example.com',
      name: 'Jane Doe',
      populationId: DEMO_POPULATIONS.staff,
      enabled: true,
      account: { status: 'LOCKED' },
    });
    expect(result.structured.users[0].account.lockedAt).toMatch(/^\d{4}-/);
    expect(result.structured.users[0].nextStep).toMatch(/unlock_user can help/);
    expect(JSON.stringify(result)).not.toContain('jane.doe@example.com');
    const [record] = h.audit();
    expect(record).toMatchObject({ phase: 'outcome', tool: 'find_user', outcome: 'found', target: { userId: DEMO_USERS.jdoe.id } });
    expect(pingOneWrites(h)).toHaveLength(0);
  });
});

describe('find_user', () => {
  it('searches by username prefix, exact email and name prefix in one filter', async () => {
    const h = await start();
    const result = await h.call('find_user', { query: 'ops' });
    expect(result.structured.users.map((u: { username: string }) => u.username).sort()).toEqual(['ops1', 'ops2']);
    expect(h.emulator.requests.find((r) => r.route === 'users.search')?.query.filter).toBe(
      'username sw "ops" or email eq "ops" or name.given sw "ops" or name.family sw "ops"',
    );
    expect(result.text).toMatch(/Confirm with the person which one is meant/);
  });

  it('searches given and family name together for two words', async () => {
    const h = await start();
    const result = await h.call('find_user', { query: 'Jane Doe' });
    expect(result.structured.users.map((u: { username: string }) => u.username)).toEqual(['jdoe']);
  });

  it('finds users sharing an email and masks it', async () => {
    const h = await start();
    const result = await h.call('find_user', { query: SHARED_MAILBOX_EMAIL });
    expect(result.structured.users).toHaveLength(2);
    expect(JSON.stringify(result) + JSON.stringify(h.audit())).not.toContain(SHARED_MAILBOX_EMAIL);
  });

  it('looks an ID up directly, and reports no match without an error', async () => {
    const h = await start();
    const byId = await h.call('find_user', { query: DEMO_USERS.mlopez.id });
    expect(byId.structured.users[0]).toMatchObject({ username: 'mlopez', enabled: false });
    expect(byId.structured.users[0].nextStep).toMatch(/disabled: unlocking will not help/);
    const none = await h.call('find_user', { query: 'zz-nobody' });
    expect(none.isError).toBe(false);
    expect(none.structured.users).toEqual([]);
    expect(none.text).toMatch(/No user matches "zz-nobody"/);
  });

  it('tells when an automatic unlock is pending', async () => {
    const h = await start();
    const result = await h.call('find_user', { query: 'ceo' });
    expect(result.structured.users[0].nextStep).toMatch(/unlocks it by itself at/);
  });

  it('shows users the guards protect, and says they cannot be changed here', async () => {
    const h = await start({ env: { PINGONE_MCP_PROTECTED_USERS: 'ceo', PINGONE_MCP_ALLOWED_POPULATIONS: DEMO_POPULATIONS.staff } });
    const ceo = await h.call('find_user', { query: 'ceo' });
    expect(ceo.structured.users[0].nextStep).toMatch(/protected: a PingOne administrator handles this account/);
    const contractor = await h.call('find_user', { query: 'old.contractor' });
    expect(contractor.structured.users[0].nextStep).toMatch(/outside the populations this server may change/);
  });
});

describe('list_user_devices', () => {
  it("lists a user's devices with masked contacts and the next step for each", async () => {
    const h = await start();
    const result = await h.call('list_user_devices', { user: 'jdoe' });
    expect(result.structured.outcome).toBe('listed');
    const byId = Object.fromEntries(result.structured.devices.map((d: { id: string }) => [d.id, d]));
    expect(byId[DEMO_USERS.jdoe.blockedSmsDeviceId]).toMatchObject({ type: 'SMS', phone: '+1******0150', block: { status: 'BLOCKED' } });
    expect(byId[DEMO_USERS.jdoe.blockedSmsDeviceId].nextStep).toMatch(/unblock_device/);
    expect(byId[DEMO_USERS.jdoe.lockedEmailDeviceId].nextStep).toMatch(/unlock_device/);
    expect(byId[DEMO_USERS.jdoe.totpDeviceId].nextStep).toMatch(/nothing to fix/);
    expect(result.text).toMatch(/3 MFA devices/);
    expect(JSON.stringify(result)).not.toContain('5555550150');
    expect(h.audit()[0]).toMatchObject({ tool: 'list_user_devices', outcome: 'listed', target: { userId: DEMO_USERS.jdoe.id } });
  });

  it('reports a user with no devices', async () => {
    const h = await start();
    const result = await h.call('list_user_devices', { user: 'mlopez' });
    expect(result.structured.devices).toEqual([]);
    expect(result.text).toMatch(/has no MFA devices/);
  });
});

describe('unlock_device', () => {
  it('clears a temporary device lock with the device.unlock content type', async () => {
    const h = await start();
    const result = await h.call('unlock_device', { user: 'jdoe', deviceId: DEMO_USERS.jdoe.lockedEmailDeviceId, reason: 'INC-3' });
    expect(result.structured.outcome).toBe('unlocked');
    expect(result.structured.device.lock.status).toBe('UNLOCKED');
    const [write] = pingOneWrites(h);
    expect(write?.contentType).toBe('application/vnd.pingidentity.device.unlock+json');
    expect(h.emulator.getDevice(DEMO_USERS.jdoe.id, DEMO_USERS.jdoe.lockedEmailDeviceId)?.lock?.status).toBe('UNLOCKED');
    expect(h.audit().map((r) => r.outcome ?? r.phase)).toEqual(['intent', 'unlocked']);
  });

  it('writes nothing for a device that is blocked, not locked, and points to unblock_device', async () => {
    const h = await start();
    const result = await h.call('unlock_device', { user: 'jdoe', deviceId: DEMO_USERS.jdoe.blockedSmsDeviceId });
    expect(result.structured.outcome).toBe('not_locked');
    expect(result.text).toMatch(/unblock_device/);
    expect(pingOneWrites(h)).toHaveLength(0);
  });
});
