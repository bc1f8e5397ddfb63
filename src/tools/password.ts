import * as z from 'zod';
import { PASSWORD_STATUSES } from '../pingone/model.js';
import type { PasswordStateRead } from '../pingone/client.js';

/**
 * A user's password state as the tools show it. PingOne keeps it apart from
 * the account (`GET /users/{id}/password`); a read that fails is `UNKNOWN`
 * with the reason, never a failed call. Only the documented status and the
 * seconds until a lockout lifts are shown: both are checked values (an enum
 * and a number), so nothing here is free text from PingOne.
 */
export const PasswordSummarySchema = z.object({
  status: z.enum([...PASSWORD_STATUSES, 'UNKNOWN']).describe("PingOne's password status, or UNKNOWN when it could not be read"),
  secondsUntilUnlock: z.number().optional().describe('when a lockout lifts by itself; absent when only an administrator can lift it'),
  unknownBecause: z.enum(['refused', 'unreadable', 'unavailable']).optional().describe('why the state is unknown'),
});
export type PasswordSummary = z.infer<typeof PasswordSummarySchema>;

export function summarizePassword(read: PasswordStateRead): PasswordSummary {
  if (!read.known) return { status: 'UNKNOWN', unknownBecause: read.why };
  const { status, secondsUntilUnlock } = read.state;
  return status === 'PASSWORD_LOCKED_OUT' && secondsUntilUnlock !== undefined ? { status, secondsUntilUnlock } : { status };
}

export function isLockedOut(password: PasswordSummary): boolean {
  return password.status === 'PASSWORD_LOCKED_OUT';
}

/** A password that needs changing, not unlocking. */
export function mustChange(password: PasswordSummary): boolean {
  return password.status === 'MUST_CHANGE_PASSWORD' || password.status === 'PASSWORD_EXPIRED';
}

export const MUST_CHANGE_DIAGNOSIS = 'they must change their password at next sign-in; unlocking will not help';

const UNKNOWN_BECAUSE: Record<NonNullable<PasswordSummary['unknownBecause']>, string> = {
  refused: 'PingOne refused to show it',
  unreadable: 'PingOne answered with something that is not a password state',
  unavailable: 'PingOne did not answer in time',
};

/** "password state unknown (PingOne refused to show it)": a phrase for a next step. */
export function unknownPassword(password: PasswordSummary): string {
  return `password state unknown (${UNKNOWN_BECAUSE[password.unknownBecause ?? 'unreadable']})`;
}

/** The same as a sentence: "Their password state is unknown (PingOne refused to show it)." */
export function passwordUnknownSentence(password: PasswordSummary): string {
  return `Their password state is unknown (${UNKNOWN_BECAUSE[password.unknownBecause ?? 'unreadable']}).`;
}

/** " (PingOne lifts it by itself in about 25 minutes)" when the lockout lapses by itself. */
export function liftsBySelf(password: PasswordSummary): string {
  const seconds = password.secondsUntilUnlock;
  if (seconds === undefined) return '';
  return seconds < 90 ? ` (PingOne lifts it by itself in ${seconds} seconds)` : ` (PingOne lifts it by itself in about ${Math.round(seconds / 60)} minutes)`;
}

/** The password's part of a next step, or undefined when the password is fine. */
export function passwordNote(password: PasswordSummary): string | undefined {
  switch (password.status) {
    case 'OK':
      return undefined;
    case 'PASSWORD_LOCKED_OUT':
      return `password locked out after failed sign-ins${liftsBySelf(password)}`;
    case 'PASSWORD_EXPIRED':
      return `password expired: ${MUST_CHANGE_DIAGNOSIS}`;
    case 'MUST_CHANGE_PASSWORD':
      return `password must be changed: ${MUST_CHANGE_DIAGNOSIS}`;
    case 'NO_PASSWORD':
      return 'no password set: they cannot sign in with a password until one is set';
    case 'EXTERNAL':
      return 'password held by an external identity provider: a lockout there is cleared there, not here';
    case 'UNKNOWN':
      return unknownPassword(password);
  }
}
