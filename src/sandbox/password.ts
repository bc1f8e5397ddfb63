import type { PasswordState } from '../pingone/model.js';
import type { SandboxPassword } from './seed.js';

/**
 * The password half of a user's sign-in state, kept beside the account: PingOne
 * locks the password after too many failed attempts and serves it at
 * `GET /users/{id}/password`, apart from `account.status`.
 */

export function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** What a user without a stored state has: users of another identity provider have no password here. */
export function defaultPassword(identityProviderType: unknown): SandboxPassword {
  return { status: identityProviderType === undefined || identityProviderType === 'PING_ONE' ? 'OK' : 'EXTERNAL' };
}

/** True when a lockout lapsed by `now` (the caller then lifts it as an unlock would). */
export function lockoutLapsed(password: SandboxPassword, now: Date): boolean {
  if (password.status !== 'PASSWORD_LOCKED_OUT') return false;
  const unlockAt = timeOf(password.unlockAt);
  return unlockAt !== undefined && unlockAt <= now.getTime();
}

/** The password as unlocked: `OK`, with nothing left of the lockout. */
export function unlocked(password: SandboxPassword): SandboxPassword {
  const { unlockAt: _unlockAt, locksAccount: _locksAccount, ...rest } = password;
  return { ...rest, status: 'OK' };
}

/** The resource as PingOne serves it; the emulator's bookkeeping (`unlockAt`, `locksAccount`) stays inside. */
export function passwordView(password: SandboxPassword, policyId: string, now: Date): PasswordState {
  const view: PasswordState = { status: password.status, passwordPolicy: { id: policyId } };
  if (password.lastChangedAt !== undefined) view.lastChangedAt = password.lastChangedAt;
  const unlockAt = timeOf(password.unlockAt);
  if (password.status === 'PASSWORD_LOCKED_OUT' && unlockAt !== undefined) {
    view.secondsUntilUnlock = Math.max(0, Math.ceil((unlockAt - now.getTime()) / 1000));
  }
  return view;
}
