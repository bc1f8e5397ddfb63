import { randomUUID } from 'node:crypto';
import type { Device, User } from '../pingone/model.js';
import { ActionContentType } from '../pingone/model.js';
import { defaultPassword, lockoutLapsed, timeOf, unlocked } from './password.js';
import { DEVICE_TYPES, type SandboxPassword, type SandboxSeed } from './seed.js';

/**
 * The emulator's directory state and the state changes the write endpoints
 * make. Stored objects never leave this module: callers get clones, so a test
 * holding a returned user cannot change the server's state behind its back.
 */

export type ActivityAction = 'USER.UNLOCKED' | 'USER.LOCKED' | 'PASSWORD.UNLOCKED' | 'DEVICE.UNBLOCKED' | 'DEVICE.BLOCKED' | 'DEVICE.UNLOCKED';

/** PingOne's documentation is silent on these; the emulator plays either answer so tests can cover both. */
export type UndocumentedBehaviour = {
  /** Whether an account unlock also lifts a password lockout. */
  accountUnlockClearsPasswordLockout: boolean;
};

export type ExternalCorrelation = { transactionId?: string; sessionId?: string };

export type SandboxActivity = {
  id: string;
  action: ActivityAction;
  correlationId: string;
  recordedAt: string;
  /** The user for USER.* actions, the device for DEVICE.* actions. */
  resourceId: string;
  /** The user the resource belongs to (equal to resourceId for USER.*). */
  userId: string;
  externalCorrelation: ExternalCorrelation;
};

export type WriteContext = { now: Date; correlationId: string; externalCorrelation: ExternalCorrelation };

const USER_ACTIONS: Readonly<Record<string, ActivityAction>> = {
  [ActionContentType.unlockUser]: 'USER.UNLOCKED',
  [ActionContentType.lockUser]: 'USER.LOCKED',
};

const DEVICE_ACTIONS: Readonly<Record<string, ActivityAction>> = {
  [ActionContentType.unblockDevice]: 'DEVICE.UNBLOCKED',
  [ActionContentType.blockDevice]: 'DEVICE.BLOCKED',
  [ActionContentType.unlockDevice]: 'DEVICE.UNLOCKED',
};

export function userActionFor(mediaType: string): ActivityAction | undefined {
  return USER_ACTIONS[mediaType];
}

export function deviceActionFor(mediaType: string): ActivityAction | undefined {
  return DEVICE_ACTIONS[mediaType];
}

export class SandboxStore {
  private readonly users = new Map<string, User>();
  private readonly devices = new Map<string, Map<string, Device>>();
  private readonly passwords = new Map<string, SandboxPassword>();
  readonly activities: SandboxActivity[] = [];

  constructor(
    seed: SandboxSeed,
    private readonly behaviour: UndocumentedBehaviour,
  ) {
    for (const user of seed.users) this.users.set(user.id, structuredClone(user));
    for (const [userId, password] of Object.entries(seed.passwords)) this.passwords.set(userId, structuredClone(password));
    for (const [userId, list] of Object.entries(seed.devices)) {
      for (const device of list) this.putDevice(userId, device);
    }
  }

  listUsers(now: Date): User[] {
    return [...this.users.keys()].flatMap((id) => {
      const user = this.getUser(id, now);
      return user === undefined ? [] : [user];
    });
  }

  getUser(id: string, now: Date = new Date()): User | undefined {
    const user = this.users.get(id);
    if (user === undefined) return undefined;
    this.settle(user, now);
    return structuredClone(user);
  }

  /** The user's password state as of `now`; undefined when the user does not exist. */
  getPassword(userId: string, now: Date = new Date()): SandboxPassword | undefined {
    const user = this.users.get(userId);
    if (user === undefined) return undefined;
    this.settle(user, now);
    return structuredClone(this.passwordOf(user));
  }

  /** Insert or replace the password state of an existing user. */
  putPassword(userId: string, password: SandboxPassword): void {
    if (!this.users.has(userId)) throw new Error(`putPassword: no user ${userId}; put the user first`);
    this.passwords.set(userId, structuredClone(password));
  }

  putUser(user: User): void {
    this.users.set(user.id, structuredClone(user));
  }

  listDevices(userId: string, now: Date = new Date()): Device[] | undefined {
    const devices = this.devices.get(userId);
    if (!this.users.has(userId)) return undefined;
    return [...(devices?.values() ?? [])].map((device) => {
      settleLock(device, now);
      return structuredClone(device);
    });
  }

  getDevice(userId: string, deviceId: string, now: Date = new Date()): Device | undefined {
    const device = this.users.has(userId) ? this.devices.get(userId)?.get(deviceId) : undefined;
    if (device === undefined) return undefined;
    settleLock(device, now);
    return structuredClone(device);
  }

  putDevice(userId: string, device: Device): void {
    if (!this.users.has(userId)) throw new Error(`putDevice: no user ${userId}; put the user first`);
    if (!(DEVICE_TYPES as readonly string[]).includes(device.type)) throw new RangeError(`putDevice: ${device.type} is not a documented device type`);
    let devices = this.devices.get(userId);
    if (devices === undefined) {
      devices = new Map();
      this.devices.set(userId, devices);
    }
    devices.set(device.id, structuredClone(device));
  }

  /** Applies a user action; undefined when the user does not exist. */
  applyUserAction(userId: string, action: ActivityAction, ctx: WriteContext): User | undefined {
    const user = this.users.get(userId);
    if (user === undefined) return undefined;
    this.settle(user, ctx.now);
    const password = this.passwordOf(user);
    const { lockedAt: _lockedAt, unlockAt: _unlockAt, secondsUntilUnlock: _seconds, ...rest } = user.account ?? {};
    const before = JSON.stringify(user.account);
    if (action === 'USER.UNLOCKED') {
      // Unlocking never lets a disabled user in: canAuthenticate follows `enabled`.
      user.account = { ...rest, status: 'OK', canAuthenticate: user.enabled !== false };
      const clears = this.behaviour.accountUnlockClearsPasswordLockout && password.status === 'PASSWORD_LOCKED_OUT';
      this.passwords.set(userId, clears ? unlocked(password) : { ...password, locksAccount: false });
    } else if (action === 'USER.LOCKED') {
      user.account = { ...rest, status: 'LOCKED', canAuthenticate: false, lockedAt: ctx.now.toISOString() };
      // An administrator's lock is a reason of its own: a password unlock no longer lifts it.
      this.passwords.set(userId, { ...password, locksAccount: false });
    } else {
      throw new Error(`not a user action: ${action}`);
    }
    if (JSON.stringify(user.account) !== before) user.updatedAt = ctx.now.toISOString();
    this.record(action, userId, userId, ctx);
    return structuredClone(user);
  }

  /**
   * Password Unlock: lifts a password lockout, and the account lock too when the
   * lockout was its only reason. Undefined when the user does not exist;
   * 'external' when the user's password is held by another identity provider.
   */
  unlockPassword(userId: string, ctx: WriteContext): SandboxPassword | 'external' | undefined {
    const user = this.users.get(userId);
    if (user === undefined) return undefined;
    this.settle(user, ctx.now);
    const password = this.passwordOf(user);
    if (password.status === 'EXTERNAL') return 'external';
    this.record('PASSWORD.UNLOCKED', userId, userId, ctx);
    if (password.status !== 'PASSWORD_LOCKED_OUT') return structuredClone(password);
    this.passwords.set(userId, unlocked(password));
    if (password.locksAccount === true && user.account?.status === 'LOCKED') {
      liftAccountLock(user);
      user.updatedAt = ctx.now.toISOString();
      this.record('USER.UNLOCKED', userId, userId, ctx);
    }
    return structuredClone(unlocked(password));
  }

  /** Applies a device action; undefined when the user or device does not exist. */
  applyDeviceAction(userId: string, deviceId: string, action: ActivityAction, ctx: WriteContext): Device | undefined {
    const device = this.users.has(userId) ? this.devices.get(userId)?.get(deviceId) : undefined;
    if (device === undefined) return undefined;
    settleLock(device, ctx.now);
    const before = JSON.stringify([device.block, device.lock]);
    const { blockedAt, ...block } = device.block ?? {};
    if (action === 'DEVICE.UNBLOCKED') {
      // Unblocking leaves a lock alone: they are independent in PingOne.
      device.block = { ...block, status: 'UNBLOCKED' };
    } else if (action === 'DEVICE.BLOCKED') {
      device.block = { ...block, status: 'BLOCKED', blockedAt: typeof blockedAt === 'string' ? blockedAt : ctx.now.toISOString() };
    } else if (action === 'DEVICE.UNLOCKED') {
      const { expiresAt: _expiresAt, ...rest } = device.lock ?? {};
      device.lock = { ...rest, status: 'UNLOCKED' };
    } else {
      throw new Error(`not a device action: ${action}`);
    }
    if (JSON.stringify([device.block, device.lock]) !== before) device.updatedAt = ctx.now.toISOString();
    this.record(action, deviceId, userId, ctx);
    return structuredClone(device);
  }

  private passwordOf(user: User): SandboxPassword {
    const provider: unknown = user['identityProvider'];
    return this.passwords.get(user.id) ?? defaultPassword(typeof provider === 'object' && provider !== null ? Reflect.get(provider, 'type') : undefined);
  }

  /** Lifts what lapsed by `now`: a password lockout past its time (and the account lock it alone caused), then the account's own. */
  private settle(user: User, now: Date): void {
    const password = this.passwords.get(user.id);
    if (password !== undefined && lockoutLapsed(password, now)) {
      this.passwords.set(user.id, unlocked(password));
      if (password.locksAccount === true && user.account?.status === 'LOCKED') {
        liftAccountLock(user);
      }
    }
    settleAccount(user, now);
  }

  private record(action: ActivityAction, resourceId: string, userId: string, ctx: WriteContext): void {
    this.activities.push({
      id: randomUUID(),
      action,
      correlationId: ctx.correlationId,
      recordedAt: ctx.now.toISOString(),
      resourceId,
      userId,
      externalCorrelation: { ...ctx.externalCorrelation },
    });
  }
}

/** The account as unlocked: `OK`, nothing left of the lock, and still no way in for a disabled user. */
function liftAccountLock(user: User): void {
  const { lockedAt: _l, unlockAt: _u, secondsUntilUnlock: _s, ...rest } = user.account ?? {};
  user.account = { ...rest, status: 'OK', canAuthenticate: user.enabled !== false };
}

/**
 * PingOne lifts an automatic lockout by itself once `unlockAt` passes, and
 * `secondsUntilUnlock` counts down; reads see the state as of `now`.
 */
function settleAccount(user: User, now: Date): void {
  const account = user.account;
  if (account?.status !== 'LOCKED') return;
  const unlockAt = timeOf(account.unlockAt);
  if (unlockAt === undefined) return;
  if (unlockAt <= now.getTime()) {
    liftAccountLock(user);
  } else {
    account.secondsUntilUnlock = Math.ceil((unlockAt - now.getTime()) / 1000);
  }
}

/** A device lock is temporary: it lapses at `expiresAt`. */
function settleLock(device: Device, now: Date): void {
  const lock = device.lock;
  if (lock?.status !== 'LOCKED') return;
  const expiresAt = timeOf(lock.expiresAt);
  if (expiresAt !== undefined && expiresAt <= now.getTime()) {
    const { expiresAt: _e, ...rest } = lock;
    device.lock = { ...rest, status: 'UNLOCKED' };
  }
}
