import { z } from 'zod';
import { defineTool } from './definition.js';
import { dryRunArgument, reasonArgument, userArgument } from './inputs.js';
import { describeUser, identifyUser, summarizeUser, UnlockUserOutputSchema, type UserSummary } from './output.js';
import { resolveUser } from './resolveUser.js';
import { givenReason, guardedWrite, refuseUnwritable } from './write.js';

export const unlockUserTool = defineTool({
  name: 'unlock_user',
  title: 'Unlock a PingOne user account',
  description:
    'Unlocks a PingOne user account that is locked (for example after too many failed sign-ins), which also resets their MFA lockout counter. ' +
    'Reads the account first and changes nothing when it is not locked, explaining why the person cannot sign in instead (e.g. the account is disabled).',
  input: z.strictObject({ user: userArgument, reason: reasonArgument, dryRun: dryRunArgument }),
  output: UnlockUserOutputSchema,
  async run(args, call) {
    const { user, summary: before, target } = await resolveUser(call, args.user);
    const subject = { target, details: { user: before } };
    return call.within(subject, async () => {
      refuseUnwritable(call, user);
      if (before.account.status !== 'LOCKED') return { outcome: 'not_locked', summary: notLockedSummary(before), ...subject };
      return guardedWrite(call, {
        action: { tool: 'unlock_user', userId: user.identity.id, ...(args.reason === undefined ? {} : { reason: args.reason }) },
        subject,
        question: `Unlock the account ${identifyUser(before)}?${givenReason(args.reason)}`,
        change: `unlock ${describeUser(before)}`,
        dryRun: args.dryRun === true,
        async perform() {
          const after = summarizeUser(call.observe(await call.deps.pingone.unlockUser(user.identity.id, call.scope)));
          return { outcome: 'unlocked', summary: unlockedSummary(after), target, details: { user: after } };
        },
      });
    });
  },
});

function notLockedSummary(user: UserSummary): string {
  const who = describeUser(user);
  const status = user.account.status ?? 'unknown';
  if (user.enabled === false) {
    return `${who} is not locked (account status ${status}) but is disabled, so unlocking will not help: an administrator must enable the account in PingOne. Nothing was changed.`;
  }
  if (user.account.canAuthenticate === false) {
    return `${who} is not locked (account status ${status}) but PingOne reports they cannot authenticate; check the account's lifecycle status in PingOne. Nothing was changed.`;
  }
  return `${who} is not locked (account status ${status}) and can sign in; if they still cannot, check their password or MFA devices (list_user_devices). Nothing was changed.`;
}

function unlockedSummary(user: UserSummary): string {
  const who = describeUser(user);
  if (user.enabled === false) return `Unlocked ${who}, but the account is disabled, so they still cannot sign in until an administrator enables it.`;
  return `Unlocked ${who}: they can sign in again, and their MFA lockout counter was reset.`;
}
