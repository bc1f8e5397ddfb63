import { z } from 'zod';
import { parseUuid, type Uuid } from '../ids.js';
import { safeOptional, safeText, type SafeText } from '../text/untrusted.js';
import type { UserIdentity } from './identity.js';
import { DeviceSchema, UserSchema, type Device, type User } from './model.js';

/**
 * PingOne's users and devices as the tools see them. This is where PingOne's
 * data enters the house, so it is made safe here, once: every display field is
 * `SafeText`; the identity (ID, username, email, population) stays raw in a
 * type of its own for the guards and lookups; IDs that go into URLs later are
 * checked UUIDs, or the answer is unusable.
 */
export interface UserRecord {
  readonly identity: UserIdentity;
  readonly username: SafeText | undefined;
  readonly email: SafeText | undefined;
  readonly name: SafeText | undefined;
  readonly enabled: boolean | undefined;
  readonly account: AccountState;
}

export interface AccountState {
  readonly status?: SafeText;
  readonly canAuthenticate?: boolean;
  readonly lockedAt?: SafeText;
  readonly unlockAt?: SafeText;
  readonly secondsUntilUnlock?: number;
}

export interface DeviceRecord {
  readonly id: Uuid;
  readonly type: SafeText;
  readonly status: SafeText | undefined;
  readonly nickname: SafeText | undefined;
  readonly phone: SafeText | undefined;
  readonly email: SafeText | undefined;
  readonly blockStatus: SafeText | undefined;
  readonly lockStatus: SafeText | undefined;
  readonly lockExpiresAt: SafeText | undefined;
}

/** Short fields PingOne fills with enum values or timestamps: a longer value is not one. */
const SHORT = 64;

export function toUserRecord(user: User, id: Uuid): UserRecord {
  const account = user.account ?? {};
  const formatted = user.name?.formatted ?? ([user.name?.given, user.name?.family].filter(Boolean).join(' ') || undefined);
  return {
    identity: { id, username: user.username, email: user.email, populationId: user.population ? parseUuid(user.population.id) : undefined },
    username: safeOptional(user.username),
    email: safeOptional(user.email),
    name: safeOptional(formatted),
    enabled: user.enabled,
    account: {
      ...defined('status', safeOptional(account.status, SHORT)),
      ...defined('canAuthenticate', account.canAuthenticate),
      ...defined('lockedAt', safeOptional(account.lockedAt, SHORT)),
      ...defined('unlockAt', safeOptional(account.unlockAt, SHORT)),
      ...defined('secondsUntilUnlock', account.secondsUntilUnlock),
    },
  };
}

export function toDeviceRecord(device: Device, id: Uuid): DeviceRecord {
  return {
    id,
    type: safeText(device.type, SHORT),
    status: safeOptional(device.status, SHORT),
    nickname: safeOptional(device.nickname, 100),
    phone: safeOptional(device.phone, SHORT),
    email: safeOptional(device.email),
    blockStatus: safeOptional(device.block?.status, SHORT),
    lockStatus: safeOptional(device.lock?.status, SHORT),
    lockExpiresAt: safeOptional(device.lock?.expiresAt, SHORT),
  };
}

/** The wire schemas, turned into records; an ID that is not a UUID makes the answer unusable. */
export const UserRecordSchema = UserSchema.transform((user, ctx): UserRecord => {
  const id = parseUuid(user.id);
  if (id === undefined) {
    ctx.addIssue({ code: 'custom', message: 'a user ID that is not a UUID' });
    return z.NEVER;
  }
  return toUserRecord(user, id);
});

export const DeviceRecordSchema = DeviceSchema.transform((device, ctx): DeviceRecord => {
  const id = parseUuid(device.id);
  if (id === undefined) {
    ctx.addIssue({ code: 'custom', message: 'a device ID that is not a UUID' });
    return z.NEVER;
  }
  return toDeviceRecord(device, id);
});

export const UserRecordPageSchema = z.looseObject({ _embedded: z.looseObject({ users: z.array(UserRecordSchema) }).optional() });
export const DeviceRecordPageSchema = z.looseObject({ _embedded: z.looseObject({ devices: z.array(DeviceRecordSchema) }).optional() });

function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
