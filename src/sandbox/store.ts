import { randomUUID } from 'node:crypto';
import type { Device, User } from '../pingone/model.js';
import { ActionContentType } from '../pingone/model.js';
import type { SandboxSeed } from './seed.js';

/**
 * The emulator's directory state and the state changes the write endpoints
 * make. Stored objects never leave this module: callers get clones, so a test
 * holding a returned user cannot change the server's state behind its back.
 */

export type ActivityAction = 'USER.UNLOCKED' | 'USER.LOCKED' | 'DEVICE.UNBLOCKED' | 'DEVICE.BLOCKED' | 'DEVICE.UNLOCKED';

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

function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export class SandboxStore {
  private readonly users = new Map<string, User>();
  private readonly devices = new Map<string, Map<string, Device>>();
  readonly activities: SandboxActivity[] = [];

  constructor(seed: SandboxSeed) {
    for (const user of seed.users) this.users.set(user.id, structuredClone(user));
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
    settleAccount(user, now);
    return structuredClone(user);
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
    settleAccount(user, ctx.now);
    const { lockedAt: _lockedAt, unlockAt: _unlockAt, secondsUntilUnlock: _seconds, ...rest } = user.account ?? {};
    const before = JSON.stringify(user.account);
    if (action === 'USER.UNLOCKED') {
      // Unlocking never lets a disabled user in: canAuthenticate follows `enabled`.
      user.account = { ...rest, status: 'OK', canAuthenticate: user.enabled !== false };
    } else if (action === 'USER.LOCKED') {
      user.account = { ...rest, status: 'LOCKED', canAuthenticate: false, lockedAt: ctx.now.toISOString() };
    } else {
      throw new Error(`not a user action: ${action}`);
    }
    if (JSON.stringify(user.account) !== before) user.updatedAt = ctx.now.toISOString();
    this.record(action, userId, userId, ctx);
    return structuredClone(user);
  }

  /** Applies a device action; undefined when the user or device does not exist. */
  applyDeviceAction(userId: string, deviceId: string, action: ActivityAction, ctx: WriteContext): Device | undefined {
    const device = this.users.has(userId) ? this.devices.get(userId)?.get(deviceId) : undefined;
    if (device === undefined) return undefined;
    settleLock(device, ctx.now);
    const before = JSON.stringify([device.block, device.lock]);
    if (action === 'DEVICE.UNBLOCKED') {
      // Unblocking leaves a lock alone: they are independent in PingOne.
      device.block = { ...device.block, status: 'UNBLOCKED' };
    } else if (action === 'DEVICE.BLOCKED') {
      device.block = { ...device.block, status: 'BLOCKED' };
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
    const { lockedAt: _l, unlockAt: _u, secondsUntilUnlock: _s, ...rest } = account;
    user.account = { ...rest, status: 'OK', canAuthenticate: user.enabled !== false };
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
