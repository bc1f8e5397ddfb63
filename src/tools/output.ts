import * as z from 'zod';
import { maskEmail, maskIfPersonal, maskPhone } from '../mask.js';
import { FAILURE_OUTCOMES, type Outcome, type SuccessOutcome } from '../outcomes.js';
import type { DeviceRecord, UserRecord } from '../pingone/records.js';
import { RESPONSIBLE } from '../responsible.js';
import { ours, quoted } from '../text/untrusted.js';
import { PasswordSummarySchema } from './password.js';

/**
 * The display forms of what tools return: built from PingOne's records' safe
 * text, personal data masked. Never used to decide anything (guards read the
 * records' raw identity).
 */
export const UserSummarySchema = z.object({
  id: z.string(),
  username: z.string().optional().describe('masked when it is an email or a phone number'),
  name: z.string().optional(),
  populationId: z.string().optional(),
  enabled: z.boolean().optional(),
  account: z.object({
    status: z.string().optional(),
    canAuthenticate: z.boolean().optional(),
    lockedAt: z.string().optional(),
    unlockAt: z.string().optional(),
    secondsUntilUnlock: z.number().optional(),
  }),
});
export type UserSummary = z.infer<typeof UserSummarySchema>;

export const DeviceSummarySchema = z.object({
  id: z.string(),
  type: z.string(),
  status: z.string().optional(),
  nickname: z.string().optional(),
  phone: z.string().optional().describe('masked'),
  email: z.string().optional().describe('masked'),
  block: z.object({ status: z.string().optional() }),
  lock: z.object({ status: z.string().optional(), expiresAt: z.string().optional() }),
});
export type DeviceSummary = z.infer<typeof DeviceSummarySchema>;

export const ErrorSummarySchema = z.object({
  code: z.string().describe('ours (USER_NOT_FOUND, …) or PINGONE_<status>'),
  responsible: z.enum(RESPONSIBLE).describe('who must act'),
  httpStatus: z.number().optional(),
  pingoneErrorCode: z.string().optional(),
  pingoneErrorId: z.string().optional().describe('give this to PingOne support'),
  attempts: z.number().optional(),
  retryAfterSeconds: z.number().optional(),
});
export type ErrorSummary = z.infer<typeof ErrorSummarySchema>;

export const CandidateSchema = z.object({ id: z.string(), username: z.string().optional() });

/**
 * What every tool returns as structuredContent: one schema covers success and
 * failure (`outcome` says which), so even error results conform. These fields
 * every result carries, whatever the tool and outcome.
 */
function resultSchema<const O extends readonly [SuccessOutcome, ...SuccessOutcome[]], E extends z.ZodRawShape>(outcomes: O, extra: E) {
  return z.object({
    outcome: z.enum([...outcomes, ...FAILURE_OUTCOMES]),
    summary: z.string().describe('one or two sentences for the person'),
    ...extra,
    candidates: z.array(CandidateSchema).optional().describe('when the user lookup matched several users'),
    error: ErrorSummarySchema.optional(),
    correlationId: z.string().optional().describe("PingOne's Correlation-Id of the last request"),
    auditId: z.string().describe('this call in our audit trail; PingOne has it as externalCorrelation.transactionId'),
    sandbox: z.boolean().describe('true when running against the embedded sandbox, not a real tenant'),
  });
}

/** What the agent can do next about a user or device, in words. */
const NextStep = z.string().describe('what can be done next, and with which tool');

export const FoundUserSchema = UserSummarySchema.extend({
  email: z.string().optional().describe('masked'),
  password: PasswordSummarySchema.optional().describe('read only when exactly one user matched'),
  nextStep: NextStep,
});
export type FoundUser = z.infer<typeof FoundUserSchema>;
export const ListedDeviceSchema = DeviceSummarySchema.extend({ nextStep: NextStep });
export type ListedDevice = z.infer<typeof ListedDeviceSchema>;

const WRITE_RESULT = { user: UserSummarySchema.optional(), device: DeviceSummarySchema.optional() };

export const UnlockUserOutputSchema = resultSchema(['unlocked', 'not_locked', 'dry_run'], {
  ...WRITE_RESULT,
  password: PasswordSummarySchema.optional().describe("the user's password state: as read before, or after the call's writes"),
  cleared: z.enum(['account', 'password', 'both']).optional().describe('what the call cleared: the account lock, the password lockout, or both'),
});
export const UnblockDeviceOutputSchema = resultSchema(['unblocked', 'not_blocked', 'dry_run'], WRITE_RESULT);
export const UnlockDeviceOutputSchema = resultSchema(['unlocked', 'not_locked', 'dry_run'], WRITE_RESULT);
export const FindUserOutputSchema = resultSchema(['found'], {
  user: UserSummarySchema.optional().describe('the user, when exactly one matched'),
  users: z.array(FoundUserSchema).optional(),
  more: z.boolean().optional().describe('true when more users matched than are listed: refine the query'),
});
export const ListUserDevicesOutputSchema = resultSchema(['listed'], {
  user: UserSummarySchema.optional(),
  devices: z.array(ListedDeviceSchema).optional(),
});

/** structuredContent of any tool; each tool's outputSchema narrows `outcome` and names its fields. */
export interface ToolOutput {
  outcome: Outcome;
  summary: string;
  user?: UserSummary;
  device?: DeviceSummary;
  error?: ErrorSummary;
  correlationId?: string;
  auditId: string;
  sandbox: boolean;
  [detail: string]: unknown;
}

export function summarizeUser(user: UserRecord): UserSummary {
  const { account } = user;
  return {
    id: user.identity.id,
    // Usernames are often emails: personal data, masked like any other email.
    ...optional('username', user.username === undefined ? undefined : maskIfPersonal(user.username)),
    ...optional('name', user.name),
    ...optional('populationId', user.identity.populationId),
    ...optional('enabled', user.enabled),
    account: {
      ...optional('status', account.status),
      ...optional('canAuthenticate', account.canAuthenticate),
      ...optional('lockedAt', account.lockedAt),
      ...optional('unlockAt', account.unlockAt),
      ...optional('secondsUntilUnlock', account.secondsUntilUnlock),
    },
  };
}

export function summarizeDevice(device: DeviceRecord): DeviceSummary {
  return {
    id: device.id,
    type: device.type,
    ...optional('status', device.status),
    ...optional('nickname', device.nickname),
    ...optional('phone', device.phone === undefined ? undefined : maskPhone(device.phone)),
    ...optional('email', device.email === undefined ? undefined : maskEmail(device.email)),
    block: { ...optional('status', device.blockStatus) },
    lock: { ...optional('status', device.lockStatus), ...optional('expiresAt', device.lockExpiresAt) },
  };
}

/**
 * How a user is named in a sentence: `jdoe (“Jane Doe”)`. The summary's fields
 * are safe text (made so where PingOne's answer was parsed); free text is quoted.
 */
export function describeUser(user: UserSummary): string {
  const handle = userHandle(user);
  return user.name ? `${handle} (${quoted(ours(user.name))})` : handle;
}

/** A plain handle (`jdoe`, `j***@corp.example`, `+1******0150`) reads as itself; anything else an end user chose is quoted. */
const PLAIN_HANDLE = /^[\p{L}\p{N}.@+*-]{1,64}$/u;

function plainOrQuoted(text: string): string {
  return PLAIN_HANDLE.test(text) ? text : quoted(ours(text));
}

/** How a user is named on their own in a sentence: the username (quoted unless plain), else the ID. */
export function userHandle(user: Pick<UserSummary, 'id' | 'username'>): string {
  return user.username === undefined ? user.id : plainOrQuoted(user.username);
}

/** How a device is named in a sentence: `the SMS device +1******0150`, or `the SMS device “Work phone”`. */
export function describeDevice(device: DeviceSummary): string {
  const label = device.nickname === undefined ? (contact(device) ?? device.id) : quoted(ours(device.nickname));
  return `the ${device.type} device ${label}`;
}

/** The device's masked phone or email as a label: the user typed it, so it is quoted unless plain. */
function contact(device: DeviceSummary): string | undefined {
  const text = device.phone ?? device.email;
  return text === undefined ? undefined : plainOrQuoted(text);
}

/**
 * The confirmation question's description of its target, from fixed fields,
 * IDs included: two accounts alike in every display field still differ here.
 */
export function identifyUser(user: UserSummary): string {
  const parts = [user.name ? `name ${quoted(ours(user.name))}` : undefined, `user ID ${user.id}`, `population ${user.populationId ?? '(none)'}`];
  return `${describeHandle(user)} (${parts.filter(Boolean).join(', ')})`;
}

export function identifyDevice(device: DeviceSummary): string {
  const label = device.nickname === undefined ? contact(device) : quoted(ours(device.nickname));
  return `the ${device.type} device${label === undefined ? '' : ` ${label}`} (device ID ${device.id})`;
}

function describeHandle(user: UserSummary): string {
  return user.username === undefined ? '(no username)' : quoted(ours(user.username));
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** ` until 2026-…` when the device's lock has an expiry. */
export function until(device: DeviceSummary): string {
  return device.lock.expiresAt ? ` until ${device.lock.expiresAt}` : '';
}

/** `{ key: value }` when value is defined, `{}` otherwise (exactOptionalPropertyTypes-friendly). */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

