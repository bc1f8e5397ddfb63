import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DeviceRecordPageSchema, dropUnknown, UserRecordPageSchema, UserRecordSchema } from '../../src/pingone/records.js';

const USER_ID = '3c5e80ce-12e2-424d-a4b3-198b71d079c1';
const POPULATION_ID = '87f736d0-64ce-403e-8a95-a88d96d7e16d';
const DEVICE_ID = '5d7a1c2e-3f4b-4a5c-8d6e-7f8091a2b3c4';

/** A search answer as PingOne spells it: many fields the records do not name, at every level. */
const userPage = {
  _links: { self: { href: 'https://api.pingone.com/v1/environments/e/users' } },
  _embedded: {
    users: [
      {
        id: USER_ID,
        username: 'bsmith',
        email: 'bob.smith@example.com',
        name: { given: 'Bob', family: 'Smith', honorificPrefix: 'Dr' },
        enabled: true,
        population: { id: POPULATION_ID, name: 'Staff' },
        account: { status: 'LOCKED', canAuthenticate: false, lockedAt: '2026-11-01T10:00:00Z', unlockAt: '2026-11-01T10:15:00Z', secondsUntilUnlock: 900, failedAttempts: 5 },
        lifecycle: { status: 'ACCOUNT_OK' },
        identityProvider: { type: 'PING_ONE' },
        createdAt: '2024-03-04T09:15:27.412Z',
        _links: { self: { href: 'https://api.pingone.com/v1/environments/e/users/u' } },
      },
    ],
    extra: 'ignored',
  },
  count: 1,
  size: 1,
};

describe('PingOne records', () => {
  it('read every named field of a user whose answer carries fields they do not name, at every level', () => {
    const parsed = UserRecordPageSchema.parse(userPage);
    expect(parsed._embedded?.users).toEqual([
      {
        identity: { id: USER_ID, username: 'bsmith', email: 'bob.smith@example.com', populationId: POPULATION_ID },
        username: 'bsmith',
        email: 'bob.smith@example.com',
        name: 'Bob Smith',
        enabled: true,
        account: { status: 'LOCKED', canAuthenticate: false, lockedAt: '2026-11-01T10:00:00Z', unlockAt: '2026-11-01T10:15:00Z', secondsUntilUnlock: 900 },
      },
    ]);
  });

  it('a named field of the wrong type still makes the answer unusable, however deep', () => {
    const user = userPage._embedded.users[0];
    expect(UserRecordSchema.safeParse({ ...user, account: { ...user?.account, canAuthenticate: 'no' } }).success).toBe(false);
    expect(UserRecordSchema.safeParse({ ...user, population: { name: 'Staff' } }).success).toBe(false);
    expect(UserRecordSchema.safeParse({ ...user, id: 'not-a-uuid' }).success).toBe(false);
  });

  it('read devices the same way: unknown fields tolerated, named ones checked', () => {
    const device = { id: DEVICE_ID, type: 'SMS', status: 'ACTIVE', phone: '+15555550100', block: { status: 'BLOCKED', reason: 'x' }, createdAt: '2024-01-01T00:00:00Z', _links: {} };
    const parsed = DeviceRecordPageSchema.parse({ _embedded: { devices: [device] }, _links: {} });
    expect(parsed._embedded?.devices).toMatchObject([{ id: DEVICE_ID, type: 'SMS', status: 'ACTIVE', phone: '+15555550100', blockStatus: 'BLOCKED' }]);
    expect(DeviceRecordPageSchema.safeParse({ _embedded: { devices: [{ ...device, type: undefined }] } }).success).toBe(false);
  });
});

describe('dropUnknown', () => {
  const wire = z
    .looseObject({
      id: z.string(),
      block: z.looseObject({ status: z.string() }).refine((block) => block.status !== 'BAD', 'no BAD status').optional(),
    })
    .refine((value) => value.id !== 'forbidden', 'no forbidden id');

  it('drops the fields the schema does not name, at every level, and tolerates them', () => {
    expect(dropUnknown(wire).parse({ id: 'a', extra: 1, block: { status: 'OK', reason: 'x' } })).toEqual({ id: 'a', block: { status: 'OK' } });
  });

  it("keeps every refinement of the wire schema's objects, however deep", () => {
    expect(dropUnknown(wire).safeParse({ id: 'forbidden' }).success).toBe(false);
    expect(dropUnknown(wire).safeParse({ id: 'a', block: { status: 'BAD' } }).success).toBe(false);
    expect(dropUnknown(wire).safeParse({ id: 'a', block: { status: 'OK' } }).success).toBe(true);
  });
});
