import { parseUuid, type Uuid } from '../ids.js';
import type { PasswordStatus } from '../pingone/model.js';

/**
 * The fictional demo directory the sandbox serves. Everything here is invented:
 * example.com addresses, 555-01xx phone numbers, UUIDs generated once and
 * hard-coded so demos and tests can name them.
 */

export type SandboxAccount = {
  status: 'OK' | 'LOCKED';
  canAuthenticate: boolean;
  lockedAt?: string;
  unlockAt?: string;
  secondsUntilUnlock?: number;
};

export type SandboxUser = {
  id: Uuid;
  environment: { id: Uuid };
  username: string;
  email: string;
  name: { given: string; family: string };
  enabled: boolean;
  population: { id: Uuid };
  account: SandboxAccount;
  lifecycle: { status: string };
  identityProvider: { type: string };
  mfaEnabled: boolean;
  createdAt: string;
  updatedAt: string;
};

/** The device types PingOne documents; the emulator refuses to store any other. */
export const DEVICE_TYPES = ['SMS', 'VOICE', 'EMAIL', 'TOTP', 'MOBILE', 'FIDO2', 'OATH_TOKEN', 'WHATSAPP'] as const;

export type SandboxDevice = {
  id: Uuid;
  environment: { id: Uuid };
  user: { id: Uuid };
  type: (typeof DEVICE_TYPES)[number];
  status: 'ACTIVE' | 'ACTIVATION_REQUIRED';
  nickname?: string;
  phone?: string;
  email?: string;
  block: { status: 'BLOCKED'; blockedAt: string } | { status: 'UNBLOCKED' };
  lock: { status: 'LOCKED' | 'UNLOCKED'; expiresAt?: string };
  createdAt: string;
  updatedAt: string;
};

export type SandboxPopulation = { id: Uuid; name: string };

/** A user's password state as the emulator keeps it; `GET …/password` serves it (see password.ts). */
export type SandboxPassword = {
  status: PasswordStatus;
  lastChangedAt?: string;
  /** When a lockout lifts by itself; absent: an administrator must act. */
  unlockAt?: string;
  /** True when this lockout is the account lock's only reason, so lifting it unlocks the account too. */
  locksAccount?: boolean;
};

export type SandboxSeed = {
  environmentId: Uuid;
  populations: SandboxPopulation[];
  users: SandboxUser[];
  /** Devices keyed by the owning user's id. */
  devices: Record<string, SandboxDevice[]>;
  /** Password states keyed by user id; a user not listed has an `OK` password. */
  passwords: Record<string, SandboxPassword>;
};

/** Fails at import time on a mistyped constant rather than deep inside a test. */
function uuid(text: string): Uuid {
  const parsed = parseUuid(text);
  if (parsed === undefined) throw new Error(`seed: not a UUID: ${text}`);
  return parsed;
}

export const SANDBOX_ENVIRONMENT_ID = uuid('98c9419c-0476-4680-8f26-995a6b35d7bb');

export const DEMO_POPULATIONS = {
  staff: uuid('87f736d0-64ce-403e-8a95-a88d96d7e16d'),
  contractors: uuid('e7fc78d2-da87-47eb-8e2d-48b1db3193e5'),
} as const;

export const SHARED_MAILBOX_EMAIL = 'shared.mailbox@example.com';

export const DEMO_USERS = {
  jdoe: {
    id: uuid('5412b934-c252-4a33-bd11-22988989ff47'),
    username: 'jdoe',
    email: 'jane.doe@example.com',
    blockedSmsDeviceId: uuid('dea3ca01-2d49-4ea1-a9bf-bd3d939dce13'),
    lockedEmailDeviceId: uuid('a1dcd32c-3135-4780-b8c9-73d64ec420d5'),
    totpDeviceId: uuid('dd32d23a-dd85-4e9d-b284-9827e1abc9fe'),
  },
  bsmith: {
    id: uuid('3c5e80ce-12e2-424d-a4b3-198b71d079c1'),
    username: 'bsmith',
    email: 'bob.smith@example.com',
    smsDeviceId: uuid('babf6e96-018f-4d29-b717-6b2ae89b4f43'),
  },
  mlopez: { id: uuid('d5f7a923-1acc-48a9-9b60-02e899169050'), username: 'mlopez', email: 'maria.lopez@example.com' },
  oldContractor: {
    id: uuid('71bf1b21-b047-41af-827e-a8cbcfd6126b'),
    username: 'old.contractor',
    email: 'old.contractor@example.com',
  },
  ops1: { id: uuid('a9123f4e-6516-4aea-99d3-ed418a544f2d'), username: 'ops1', email: SHARED_MAILBOX_EMAIL },
  ops2: { id: uuid('70834e30-1fc2-4ebc-b2d8-90566bb4f7a1'), username: 'ops2', email: SHARED_MAILBOX_EMAIL },
  ceo: { id: uuid('91b45cf2-7606-4dbb-8285-cc7ee77ffaec'), username: 'ceo', email: 'ada.chief@example.com' },
  kwong: { id: uuid('c0b0a7e5-5b7e-4f43-9d0e-6f2f3a9b8e21'), username: 'kwong', email: 'kim.wong@example.com' },
} as const;

export const DEMO_PASSWORD_POLICY_ID = uuid('4b1f0c6e-8a7d-4d52-b3e9-2c6a0f9d1e57');

const CREATED = '2024-03-04T09:15:27.412Z';
const UPDATED = '2025-01-20T16:02:45.118Z';

type UserParts = Pick<SandboxUser, 'id' | 'username' | 'email' | 'name' | 'enabled' | 'population' | 'account' | 'mfaEnabled'>;

function user(parts: UserParts): SandboxUser {
  return {
    ...parts,
    environment: { id: SANDBOX_ENVIRONMENT_ID },
    lifecycle: { status: 'ACCOUNT_OK' },
    identityProvider: { type: 'PING_ONE' },
    createdAt: CREATED,
    updatedAt: UPDATED,
  };
}

type DeviceParts = Omit<SandboxDevice, 'environment' | 'user' | 'status' | 'createdAt' | 'updatedAt'>;

function device(userId: Uuid, parts: DeviceParts): SandboxDevice {
  return {
    ...parts,
    environment: { id: SANDBOX_ENVIRONMENT_ID },
    user: { id: userId },
    status: 'ACTIVE',
    createdAt: CREATED,
    updatedAt: UPDATED,
  };
}

/**
 * A fresh copy of the demo directory on every call, so one emulator's writes
 * never show up in another's. Lock times are relative to `now` so that the
 * pending locks are still pending whenever the demo runs.
 */
export function demoSeed(now: Date = new Date()): SandboxSeed {
  const at = (minutes: number): string => new Date(now.getTime() + minutes * 60_000).toISOString();
  const { jdoe, bsmith, mlopez, oldContractor, ops1, ops2, ceo, kwong } = DEMO_USERS;
  // Factories, not shared objects: no two users may alias a nested object.
  const staff = () => ({ id: DEMO_POPULATIONS.staff });
  const contractors = () => ({ id: DEMO_POPULATIONS.contractors });
  const ok = (): SandboxAccount => ({ status: 'OK', canAuthenticate: true });

  return {
    environmentId: SANDBOX_ENVIRONMENT_ID,
    populations: [
      { id: DEMO_POPULATIONS.staff, name: 'Staff' },
      { id: DEMO_POPULATIONS.contractors, name: 'Contractors' },
    ],
    users: [
      user({
        id: jdoe.id,
        username: jdoe.username,
        email: jdoe.email,
        name: { given: 'Jane', family: 'Doe' },
        enabled: true,
        population: staff(),
        // Locked by an administrator: no automatic unlock, the password itself is fine.
        account: { status: 'LOCKED', canAuthenticate: false, lockedAt: at(-12) },
        mfaEnabled: true,
      }),
      user({
        id: bsmith.id,
        username: bsmith.username,
        email: bsmith.email,
        name: { given: 'Bob', family: 'Smith' },
        enabled: true,
        population: staff(),
        account: ok(),
        mfaEnabled: true,
      }),
      user({
        id: mlopez.id,
        username: mlopez.username,
        email: mlopez.email,
        name: { given: 'Maria', family: 'Lopez' },
        // Disabled: unlocking cannot help, which the agent must explain.
        enabled: false,
        population: staff(),
        account: { status: 'OK', canAuthenticate: false },
        mfaEnabled: false,
      }),
      user({
        id: oldContractor.id,
        username: oldContractor.username,
        email: oldContractor.email,
        name: { given: 'Olaf', family: 'Contractor' },
        enabled: false,
        population: contractors(),
        account: { status: 'LOCKED', canAuthenticate: false, lockedAt: at(-60 * 24 * 40) },
        mfaEnabled: false,
      }),
      user({
        id: ops1.id,
        username: ops1.username,
        email: ops1.email,
        name: { given: 'Operations', family: 'One' },
        enabled: true,
        population: staff(),
        account: ok(),
        mfaEnabled: true,
      }),
      user({
        id: ops2.id,
        username: ops2.username,
        email: ops2.email,
        name: { given: 'Operations', family: 'Two' },
        enabled: true,
        population: staff(),
        account: ok(),
        mfaEnabled: true,
      }),
      user({
        id: ceo.id,
        username: ceo.username,
        email: ceo.email,
        name: { given: 'Ada', family: 'Chief' },
        enabled: true,
        population: staff(),
        // Locked with an automatic unlock pending.
        account: { status: 'LOCKED', canAuthenticate: false, lockedAt: at(-5), unlockAt: at(25), secondsUntilUnlock: 25 * 60 },
        mfaEnabled: true,
      }),
      user({
        id: kwong.id,
        username: kwong.username,
        email: kwong.email,
        name: { given: 'Kim', family: 'Wong' },
        enabled: true,
        population: staff(),
        // Too many failed sign-ins: a password lockout, and as PingOne's docs allow, no lockedAt.
        account: { status: 'LOCKED', canAuthenticate: false },
        mfaEnabled: true,
      }),
    ],
    devices: {
      [jdoe.id]: [
        device(jdoe.id, {
          id: jdoe.blockedSmsDeviceId,
          type: 'SMS',
          nickname: 'Work phone',
          phone: '+15555550150',
          block: { status: 'BLOCKED', blockedAt: at(-30) },
          lock: { status: 'UNLOCKED' },
        }),
        device(jdoe.id, {
          id: jdoe.lockedEmailDeviceId,
          type: 'EMAIL',
          email: jdoe.email,
          block: { status: 'UNBLOCKED' },
          lock: { status: 'LOCKED', expiresAt: at(120) },
        }),
        device(jdoe.id, {
          id: jdoe.totpDeviceId,
          type: 'TOTP',
          nickname: 'Authenticator app',
          block: { status: 'UNBLOCKED' },
          lock: { status: 'UNLOCKED' },
        }),
      ],
      [bsmith.id]: [
        device(bsmith.id, {
          id: bsmith.smsDeviceId,
          type: 'SMS',
          phone: '+15555550123',
          block: { status: 'UNBLOCKED' },
          lock: { status: 'UNLOCKED' },
        }),
      ],
    },
    passwords: {
      [kwong.id]: { status: 'PASSWORD_LOCKED_OUT', lastChangedAt: at(-60 * 24 * 30), locksAccount: true },
      [ceo.id]: { status: 'PASSWORD_LOCKED_OUT', lastChangedAt: at(-60 * 24 * 9), unlockAt: at(25), locksAccount: true },
    },
  };
}
