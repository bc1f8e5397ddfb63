import * as z from 'zod';

/**
 * The parts of PingOne's user and device resources this server reads. Every
 * schema is loose: PingOne adds fields over time and we must tolerate them.
 */

export const AccountSchema = z.looseObject({
  status: z.string().optional(),
  canAuthenticate: z.boolean().optional(),
  lockedAt: z.string().optional(),
  unlockAt: z.string().optional(),
  secondsUntilUnlock: z.number().optional(),
});

export const UserSchema = z.looseObject({
  id: z.string(),
  username: z.string().optional(),
  email: z.string().optional(),
  enabled: z.boolean().optional(),
  name: z.looseObject({ given: z.string().optional(), family: z.string().optional(), formatted: z.string().optional() }).optional(),
  population: z.looseObject({ id: z.string() }).optional(),
  account: AccountSchema.optional(),
  lifecycle: z.looseObject({ status: z.string().optional() }).optional(),
  mfaEnabled: z.boolean().optional(),
});
export type User = z.infer<typeof UserSchema>;

export const UserPageSchema = z.looseObject({
  _embedded: z.looseObject({ users: z.array(UserSchema) }).optional(),
  count: z.number().optional(),
  size: z.number().optional(),
});

export const DeviceSchema = z.looseObject({
  id: z.string(),
  type: z.string(),
  status: z.string().optional(),
  nickname: z.string().optional(),
  phone: z.string().optional(),
  email: z.string().optional(),
  block: z.looseObject({ status: z.string().optional() }).optional(),
  lock: z.looseObject({ status: z.string().optional(), expiresAt: z.string().optional() }).optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
});
export type Device = z.infer<typeof DeviceSchema>;

export const DevicePageSchema = z.looseObject({
  _embedded: z.looseObject({ devices: z.array(DeviceSchema) }).optional(),
});

/** PingOne's error body (P1Error). `id` is what PingOne support asks for. */
export const P1ErrorSchema = z.looseObject({
  id: z.string().optional(),
  code: z.string().optional(),
  message: z.string().optional(),
  details: z
    .array(z.looseObject({ code: z.string().optional(), target: z.string().optional(), message: z.string().optional() }))
    .optional(),
});
export type P1Error = z.infer<typeof P1ErrorSchema>;

/** The custom content types that select an action on a user or device URL. */
export const ActionContentType = {
  unlockUser: 'application/vnd.pingidentity.account.unlock+json',
  lockUser: 'application/vnd.pingidentity.account.lock+json',
  unblockDevice: 'application/vnd.pingidentity.device.unblock+json',
  blockDevice: 'application/vnd.pingidentity.device.block+json',
  unlockDevice: 'application/vnd.pingidentity.device.unlock+json',
  unlockPassword: 'application/vnd.pingidentity.password.unlock+json',
} as const;
export type ActionContentType = (typeof ActionContentType)[keyof typeof ActionContentType];

/** The states PingOne documents for `GET /users/{id}/password`. */
export const PASSWORD_STATUSES = ['OK', 'NO_PASSWORD', 'PASSWORD_EXPIRED', 'PASSWORD_LOCKED_OUT', 'MUST_CHANGE_PASSWORD', 'EXTERNAL'] as const;
export type PasswordStatus = (typeof PASSWORD_STATUSES)[number];

/**
 * A user's password state. `status` is checked against the documented states so
 * that a value PingOne adds later reads as "unknown", never as a wrong diagnosis.
 */
export const PasswordStateSchema = z.looseObject({
  status: z.enum(PASSWORD_STATUSES),
  /** Absent when only an administrator can lift the lockout. */
  secondsUntilUnlock: z.number().optional(),
  lastChangedAt: z.string().optional(),
  passwordPolicy: z.looseObject({ id: z.string().optional() }).optional(),
});
export type PasswordState = z.infer<typeof PasswordStateSchema>;
