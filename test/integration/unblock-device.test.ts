import { describe, expect, it } from 'vitest';
import { DEMO_USERS, SANDBOX_ENVIRONMENT_ID } from '../../src/sandbox/seed.js';
import { ERAS, harnessPerTest, pingOneWrites, type Harness } from '../support/harness.js';

const UNBLOCK_TYPE = 'application/vnd.pingidentity.device.unblock+json';
const jdoe = DEMO_USERS.jdoe;

const start = harnessPerTest();

describe.each(ERAS)('unblock_device over a %s-era MCP connection', (era) => {
  it('unblocks a blocked SMS device, masking the phone number everywhere', async () => {
    const h = await start({ era });
    const result = await h.call('unblock_device', { user: 'jdoe', deviceId: jdoe.blockedSmsDeviceId, reason: 'INC-2002' });

    expect(result.isError).toBe(false);
    expect(result.structured.outcome).toBe('unblocked');
    expect(result.structured.device).toMatchObject({ id: jdoe.blockedSmsDeviceId, type: 'SMS', phone: '+1******0150', block: { status: 'UNBLOCKED' } });
    expect(h.emulator.getDevice(jdoe.id, jdoe.blockedSmsDeviceId)?.block?.status).toBe('UNBLOCKED');

    const api = h.emulator.requests.filter((r) => r.route !== 'token');
    expect(api.map((r) => `${r.method} ${r.route}`)).toEqual(['GET users.search', 'GET device.get', 'POST device.action']);
    const write = api[2];
    expect(write?.path).toBe(`/v1/environments/${SANDBOX_ENVIRONMENT_ID}/users/${jdoe.id}/devices/${jdoe.blockedSmsDeviceId}`);
    expect(write?.contentType).toBe(UNBLOCK_TYPE);
    expect(write?.headers['x-ping-external-transaction-id']).toBe(result.structured.auditId);

    const everything = JSON.stringify(result) + JSON.stringify(h.audit());
    expect(everything).not.toContain('5555550150');
    expect(everything).not.toContain('jane.doe@example.com');

    const records = h.audit();
    expect(records.map((r) => r.phase)).toEqual(['intent', 'outcome']);
    expect(records[0]?.target).toMatchObject({ userId: jdoe.id, username: 'jdoe', deviceId: jdoe.blockedSmsDeviceId, deviceType: 'SMS' });
    expect(records[1]).toMatchObject({ outcome: 'unblocked', reason: 'INC-2002' });
  });
});

describe('unblock_device', () => {
  it('reports a locked (not blocked) device as such and writes nothing', async () => {
    const h = await start();
    const result = await h.call('unblock_device', { user: 'jdoe', deviceId: jdoe.lockedEmailDeviceId });
    expect(result.isError).toBe(false);
    expect(result.structured.outcome).toBe('not_blocked');
    expect(result.text).toMatch(/temporarily locked until \d{4}-\d\d-\d\dT/);
    expect(result.structured.device.email).toBe('j***@example.com');
    expect(pingOneWrites(h)).toHaveLength(0);
    expect(h.audit().map((r) => [r.phase, r.outcome])).toEqual([['outcome', 'not_blocked']]);
  });

  it('answers not_blocked for an active device', async () => {
    const h = await start();
    const result = await h.call('unblock_device', { user: jdoe.id, deviceId: jdoe.totpDeviceId });
    expect(result.structured.outcome).toBe('not_blocked');
    expect(pingOneWrites(h)).toHaveLength(0);
  });

  it.each(['../../users', '%2e%2e', 'abc', `${jdoe.blockedSmsDeviceId}/../x`, `${jdoe.blockedSmsDeviceId}?x=1`])(
    'rejects the device ID %j before any request',
    async (deviceId) => {
      const h = await start();
      const result = await h.call('unblock_device', { user: 'jdoe', deviceId });
      expect(result.isError).toBe(true);
      expect(result.structured.outcome).toBe('invalid_input');
      expect(h.emulator.requests).toHaveLength(0);
    },
  );

  it('reports an unknown device of the user as not found', async () => {
    const h = await start();
    const result = await h.call('unblock_device', { user: 'bsmith', deviceId: jdoe.blockedSmsDeviceId });
    expect(result.isError).toBe(true);
    expect(result.structured.error.code).toBe('DEVICE_NOT_FOUND');
    expect(result.text).toContain('bsmith');
    expect(pingOneWrites(h)).toHaveLength(0);
  });

  it('survives a connection reset on the write by retrying', async () => {
    const h = await start();
    h.emulator.faults.add({ match: { route: 'device.action' }, action: { kind: 'reset' } });
    const result = await h.call('unblock_device', { user: 'jdoe', deviceId: jdoe.blockedSmsDeviceId });
    expect(result.structured.outcome).toBe('unblocked');
    expect(pingOneWrites(h)).toHaveLength(2);
  });

  it('says the write may or may not have happened when PingOne fails after the intent', async () => {
    const h = await start();
    h.emulator.faults.add({ match: { route: 'device.action' }, times: Infinity, action: { kind: 'status', status: 503 } });
    const result = await h.call('unblock_device', { user: 'jdoe', deviceId: jdoe.blockedSmsDeviceId });
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/may or may not have been applied/);
    expect(pingOneWrites(h)).toHaveLength(3);
    expect(h.audit().map((r) => r.outcome ?? r.phase)).toEqual(['intent', 'failed']);
  });
});
