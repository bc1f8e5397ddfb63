import { describe, expect, it } from 'vitest';
import { isUuid } from '../../src/ids.js';
import { UserSchema, DeviceSchema } from '../../src/pingone/model.js';
import { DEMO_POPULATIONS, DEMO_USERS, SANDBOX_ENVIRONMENT_ID, SHARED_MAILBOX_EMAIL, demoSeed } from '../../src/sandbox/seed.js';

describe('demoSeed', () => {
  it('returns a fresh deep copy each call', () => {
    const a = demoSeed();
    const b = demoSeed();
    expect(a).not.toBe(b);
    const firstA = a.users[0];
    if (firstA === undefined) throw new Error('empty seed');
    firstA.username = 'mutated';
    firstA.population.id = DEMO_POPULATIONS.contractors;
    expect(b.users[0]?.username).toBe('jdoe');
    expect(demoSeed().users[0]?.population.id).toBe(DEMO_POPULATIONS.staff);
    // No nested object is shared between two users of the same seed either.
    expect(a.users[1]?.population.id).toBe(DEMO_POPULATIONS.staff);
  });

  it('uses distinct, random-looking UUIDs', () => {
    const seed = demoSeed();
    const ids = [
      SANDBOX_ENVIRONMENT_ID,
      ...Object.values(DEMO_POPULATIONS),
      ...seed.users.map((u) => u.id),
      ...Object.values(seed.devices).flatMap((list) => list.map((d) => d.id)),
    ];
    for (const id of ids) {
      expect(isUuid(id)).toBe(true);
      expect(id).not.toMatch(/0000-0000/);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('matches the named constants', () => {
    const seed = demoSeed();
    expect(seed.environmentId).toBe(SANDBOX_ENVIRONMENT_ID);
    const byName = new Map(seed.users.map((u) => [u.username, u]));
    for (const entry of Object.values(DEMO_USERS)) {
      expect(byName.get(entry.username)?.id).toBe(entry.id);
      expect(byName.get(entry.username)?.email).toBe(entry.email);
    }
    const jdoeDevices = seed.devices[DEMO_USERS.jdoe.id] ?? [];
    expect(jdoeDevices.map((d) => d.id)).toEqual([
      DEMO_USERS.jdoe.blockedSmsDeviceId,
      DEMO_USERS.jdoe.lockedEmailDeviceId,
      DEMO_USERS.jdoe.totpDeviceId,
    ]);
    expect(seed.devices[DEMO_USERS.bsmith.id]?.[0]?.id).toBe(DEMO_USERS.bsmith.smsDeviceId);
  });

  it('holds the scenarios the demo needs', () => {
    const now = new Date('2030-06-01T12:00:00.000Z');
    const seed = demoSeed(now);
    const user = (name: string) => seed.users.find((u) => u.username === name);
    expect(user('jdoe')?.account).toMatchObject({ status: 'LOCKED', canAuthenticate: false });
    expect(user('jdoe')?.account.unlockAt).toBeUndefined();
    expect(user('mlopez')).toMatchObject({ enabled: false, account: { status: 'OK', canAuthenticate: false } });
    expect(user('old.contractor')).toMatchObject({ enabled: false, account: { status: 'LOCKED' }, population: { id: DEMO_POPULATIONS.contractors } });
    expect(seed.users.filter((u) => u.email === SHARED_MAILBOX_EMAIL).map((u) => u.username)).toEqual(['ops1', 'ops2']);
    const ceo = user('ceo');
    expect(ceo?.name).toEqual({ given: 'Ada', family: 'Chief' });
    expect(Date.parse(ceo?.account.unlockAt ?? '')).toBeGreaterThan(now.getTime());
    expect(ceo?.account.secondsUntilUnlock).toBeGreaterThan(0);

    const [sms, email, totp] = seed.devices[DEMO_USERS.jdoe.id] ?? [];
    expect(sms).toMatchObject({ type: 'SMS', phone: '+15555550150', block: { status: 'BLOCKED' }, lock: { status: 'UNLOCKED' } });
    expect(email).toMatchObject({ type: 'EMAIL', block: { status: 'UNBLOCKED' }, lock: { status: 'LOCKED' } });
    expect(Date.parse(email?.lock.expiresAt ?? '')).toBeGreaterThan(now.getTime() + 30 * 60_000);
    expect(totp).toMatchObject({ type: 'TOTP', status: 'ACTIVE', block: { status: 'UNBLOCKED' }, lock: { status: 'UNLOCKED' } });
  });

  it('is fictional and readable by the project model', () => {
    const seed = demoSeed();
    for (const u of seed.users) {
      expect(u.email).toMatch(/@example\.com$/);
      expect(UserSchema.safeParse(u).success).toBe(true);
    }
    for (const d of Object.values(seed.devices).flat()) {
      if (d.phone !== undefined) expect(d.phone).toMatch(/^\+155555501\d\d$/);
      expect(DeviceSchema.safeParse(d).success).toBe(true);
    }
  });
});
