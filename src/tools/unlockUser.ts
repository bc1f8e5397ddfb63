import * as z from 'zod';
import type { Uuid } from '../ids.js';
import type { UserRecord } from '../pingone/records.js';
import type { Call, Ended, Subject } from './call.js';
import { defineTool } from './definition.js';
import { dryRunArgument, reasonArgument, userArgument } from './inputs.js';
import { capitalize, describeUser, identifyUser, summarizeUser, UnlockUserOutputSchema, type UserSummary } from './output.js';
import { isLockedOut, MUST_CHANGE_DIAGNOSIS, mustChange, passwordUnknownSentence, summarizePassword, type PasswordSummary } from './password.js';
import { notApplied, observePassword, passwordAfter, userAfter } from './readBack.js';
import { resolveUser } from './resolveUser.js';
import { givenReason, guardedWrite, refuseUnwritable, type SendWrite } from './write.js';

/**
 * The writes one call may send, in order. A password lockout is cleared first
 * with Password Unlock: PingOne documents that it also lifts the account lock
 * when the lockout was the lock's only reason, while whether Account Unlock
 * clears a password lockout is not documented. So a user locked out by failed
 * sign-ins takes one write whichever way PingOne behaves; the account is read
 * again and unlocked only if still locked (an administrator's lock as well).
 */
type Plan = readonly ['unlockUser'] | readonly ['unlockPassword'] | readonly ['unlockPassword', 'unlockUser'];

function planFor(account: UserSummary['account'], password: PasswordSummary): Plan | undefined {
  const accountLocked = account.status === 'LOCKED';
  if (isLockedOut(password)) return accountLocked ? ['unlockPassword', 'unlockUser'] : ['unlockPassword'];
  return accountLocked ? ['unlockUser'] : undefined;
}

export const unlockUserTool = defineTool({
  name: 'unlock_user',
  title: 'Unlock a PingOne user account',
  description:
    'Unlocks a PingOne user who is locked out: clears a password lockout after too many failed sign-ins (Password Unlock) and an account lock (Account Unlock, which also resets their MFA lockout counter), sending only the writes needed. ' +
    'Reads the account and password state first and changes nothing when neither is locked, explaining why the person cannot sign in instead (e.g. the account is disabled, or the password must be changed).',
  input: z.strictObject({ user: userArgument, reason: reasonArgument, dryRun: dryRunArgument }),
  output: UnlockUserOutputSchema,
  async run(args, call) {
    const { user, summary: before, target } = await resolveUser(call, args.user);
    return call.within({ target, details: { user: before } }, async () => {
      refuseUnwritable(call, user);
      const password = summarizePassword(observePassword(call, await call.deps.pingone.getPasswordState(user.identity.id, call.scope)));
      const subject: Subject = { target, details: { user: before, password } };
      const plan = planFor(before.account, password);
      if (plan === undefined) return { outcome: 'not_locked', summary: notLockedSummary(before, password), ...subject };
      return guardedWrite(call, {
        action: { tool: 'unlock_user', userId: user.identity.id, writes: plan, ...(args.reason === undefined ? {} : { reason: args.reason }) },
        subject,
        question: `${capitalize(planWords(plan, identifyUser(before)))}?${givenReason(args.reason)}`,
        change: planWords(plan, describeUser(before)),
        dryRun: args.dryRun === true,
        perform: (send) => carryOut(call, send, plan, user, password, subject),
      });
    });
  },
});

/** Every write the plan may send, in words: the question and the dry run name them all. */
function planWords(plan: Plan, who: string): string {
  if (plan.length === 1) return plan[0] === 'unlockUser' ? `unlock the account ${who}` : `clear the password lockout of ${who} (Password Unlock)`;
  return `clear the password lockout of ${who} (Password Unlock), then unlock the account (Account Unlock) if it is still locked`;
}

async function carryOut(call: Call, send: SendWrite, plan: Plan, user: UserRecord, password: PasswordSummary, subject: Subject): Promise<Ended> {
  const userId: Uuid = user.identity.id;
  let passwordNow = password;
  let accountNow = user;
  let passwordCleared = false;
  let accountCleared = false;
  let accountUnlockSent = false;
  if (plan[0] === 'unlockPassword') {
    passwordNow = summarizePassword(await passwordAfter(call, userId, await send({ kind: 'unlockPassword', userId })));
    if (isLockedOut(passwordNow)) throw notApplied(`clear the password lockout of ${describeUser(summarizeUser(user))}`);
    passwordCleared = true;
    if (plan.length === 2) {
      // Password Unlock lifts the account lock when the lockout was its only reason: read, and unlock only what is left.
      accountNow = call.observe(await call.deps.pingone.getUser(userId, call.scope));
      accountCleared = accountNow.account.status !== 'LOCKED';
    }
  }
  if (plan.at(-1) === 'unlockUser' && !accountCleared) {
    accountUnlockSent = true;
    accountNow = await userAfter(call, userId, await send({ kind: 'unlockUser', userId }));
    if (accountNow.account.status === 'LOCKED') throw notApplied(`unlock the account ${describeUser(summarizeUser(user))}`);
    accountCleared = true;
  }
  const after = summarizeUser(accountNow);
  const cleared = accountCleared && passwordCleared ? 'both' : accountCleared ? 'account' : 'password';
  return {
    outcome: 'unlocked',
    summary: unlockedSummary(after, cleared, passwordNow, accountUnlockSent),
    target: subject.target,
    details: { user: after, password: passwordNow, cleared },
  };
}

function notLockedSummary(user: UserSummary, password: PasswordSummary): string {
  const who = describeUser(user);
  const status = user.account.status ?? 'unknown';
  if (user.enabled === false) {
    return `${who} is not locked (account status ${status}) but is disabled, so unlocking will not help: an administrator must enable the account in PingOne. Nothing was changed.`;
  }
  if (mustChange(password)) {
    return `${who} is not locked (account status ${status}, password status ${password.status}): ${MUST_CHANGE_DIAGNOSIS}. Nothing was changed.`;
  }
  if (user.account.canAuthenticate === false) {
    return `${who} is not locked (account status ${status}) but PingOne reports they cannot authenticate; check the account's lifecycle status in PingOne. Nothing was changed.`;
  }
  const unknown = password.status === 'UNKNOWN' ? ` ${passwordUnknownSentence(password)}` : '';
  return `${who} is not locked (account status ${status}, password status ${password.status}) and can sign in; if they still cannot, check their MFA devices (list_user_devices).${unknown} Nothing was changed.`;
}

function unlockedSummary(user: UserSummary, cleared: 'account' | 'password' | 'both', password: PasswordSummary, accountUnlockSent: boolean): string {
  const who = describeUser(user);
  const what = { account: 'cleared the account lock', password: 'cleared the password lockout', both: 'cleared the password lockout and the account lock' }[cleared];
  const counter = accountUnlockSent ? ', and their MFA lockout counter was reset' : '';
  const unknown = password.status === 'UNKNOWN' ? ` ${passwordUnknownSentence(password)} A password lockout may remain: if they still cannot sign in, check their password state in PingOne.` : '';
  const change = mustChange(password) ? ` Note: ${MUST_CHANGE_DIAGNOSIS.replace('; unlocking will not help', '')}.` : '';
  if (user.enabled === false) return `Unlocked ${who} (${what}), but the account is disabled, so they still cannot sign in until an administrator enables it.${unknown}`;
  return `Unlocked ${who}: ${what}; they can sign in again${counter}.${unknown}${change}`;
}
