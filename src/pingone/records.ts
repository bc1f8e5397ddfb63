import * as z from 'zod';
import { parseUuid, type Uuid } from '../ids.js';
import { ours, safeOptional, type SafeText } from '../text/untrusted.js';
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

/**
 * Fields PingOne fills with enum values (LOCKED, OATH_TOKEN) or timestamps.
 * They stand unquoted in our sentences, so a value of another shape (a
 * gateway's words) is dropped, never shown.
 */
const ENUM_VALUE = /^[A-Z][A-Z0-9_]{0,31}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function enumValue(raw: string | undefined): SafeText | undefined {
  return raw !== undefined && ENUM_VALUE.test(raw) ? ours(raw) : undefined;
}

function timestamp(raw: string | undefined): SafeText | undefined {
  return raw !== undefined && TIMESTAMP.test(raw) ? ours(raw) : undefined;
}

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
      ...defined('status', enumValue(account.status)),
      ...defined('canAuthenticate', account.canAuthenticate),
      ...defined('lockedAt', timestamp(account.lockedAt)),
      ...defined('unlockAt', timestamp(account.unlockAt)),
      ...defined('secondsUntilUnlock', account.secondsUntilUnlock),
    },
  };
}

export function toDeviceRecord(device: Device, id: Uuid): DeviceRecord {
  return {
    id,
    type: enumValue(device.type) ?? ours('UNKNOWN'),
    status: enumValue(device.status),
    nickname: safeOptional(device.nickname, 100),
    phone: safeOptional(device.phone, 64),
    email: safeOptional(device.email),
    blockStatus: enumValue(device.block?.status),
    lockStatus: enumValue(device.lock?.status),
    lockExpiresAt: timestamp(device.lock?.expiresAt),
  };
}

/** The wire schemas, turned into records; an ID that is not a UUID makes the answer unusable. */
export const UserRecordSchema = withUuidId(dropUnknown(UserSchema), 'user', toUserRecord);
export const DeviceRecordSchema = withUuidId(dropUnknown(DeviceSchema), 'device', toDeviceRecord);

/**
 * The same reading of a wire schema, dropping the fields it does not name instead of
 * copying them: a record takes only named fields, and PingOne's answers carry many
 * more (links, timestamps, the environment), which a loose parse copies on every call.
 * Unknown fields are still tolerated, as the wire schemas promise. Built at the first
 * answer, not at start-up (about 0.7 ms).
 */
export function dropUnknown<S extends z.ZodType>(schema: S): z.ZodType<z.output<S>> {
  return z.lazy(() => strip(schema)) as unknown as z.ZodType<z.output<S>>;
}

function strip(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodOptional) return strip(schema.unwrap() as z.ZodType).optional();
  if (schema instanceof z.ZodObject) {
    const shape = Object.fromEntries(Object.entries(schema.shape).map(([key, field]) => [key, strip(field as z.ZodType)]));
    // A copy of the object's own definition, not a new z.object: a refinement added to a wire schema
    // later must keep checking here too. Only the shape (stripped in turn) and the catch-all change.
    return schema.clone({ ...schema._zod.def, shape, catchall: undefined });
  }
  return schema;
}

function withUuidId<W extends { id: string }, R>(schema: z.ZodType<W>, what: string, toRecord: (wire: W, id: Uuid) => R) {
  return schema.transform((wire, ctx): R => {
    const id = parseUuid(wire.id);
    if (id === undefined) {
      ctx.addIssue({ code: 'custom', message: `a ${what} ID that is not a UUID` });
      return z.NEVER;
    }
    return toRecord(wire, id);
  });
}

export const UserRecordPageSchema = z.object({ _embedded: z.object({ users: z.array(UserRecordSchema) }).optional() });
export const DeviceRecordPageSchema = z.object({ _embedded: z.object({ devices: z.array(DeviceRecordSchema) }).optional() });

function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
