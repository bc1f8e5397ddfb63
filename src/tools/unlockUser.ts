import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { RESTORATIVE_WRITE } from './annotations.js';
import { reasonArgument, userArgument } from './inputs.js';
import { describeUser, summarizeUser, UnlockUserOutputSchema, type UserSummary } from './output.js';
import { resolveUser } from './resolveUser.js';
import { describeClient, runTool, type Completed, type ToolDeps } from './runtime.js';

export const UnlockUserInputSchema = z.strictObject({ user: userArgument, reason: reasonArgument });

export function registerUnlockUserTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'unlock_user',
    {
      title: 'Unlock a PingOne user account',
      description:
        'Unlocks a PingOne user account that is locked (for example after too many failed sign-ins), which also resets their MFA lockout counter. ' +
        'Reads the account first and changes nothing when it is not locked, explaining why the person cannot sign in instead (e.g. the account is disabled).',
      inputSchema: UnlockUserInputSchema,
      outputSchema: UnlockUserOutputSchema,
      annotations: RESTORATIVE_WRITE,
    },
    (args, ctx) =>
      runTool(
        deps,
        { tool: 'unlock_user', client: describeClient(server, ctx), reason: args.reason, signal: ctx.mcpReq.signal },
        async (call): Promise<Completed> => {
          const user = await resolveUser(deps.pingone, args.user, call);
          const before = summarizeUser(user);
          if (before.account.status !== 'LOCKED') return { outcome: 'not_locked', summary: notLockedSummary(before) };
          call.recordIntent();
          const after = summarizeUser(call.observe(await deps.pingone.unlockUser(user.id, call.scope)));
          call.user = after;
          return { outcome: 'unlocked', summary: unlockedSummary(after) };
        },
      ),
  );
}

function notLockedSummary(user: UserSummary): string {
  const who = describeUser(user);
  const status = user.account.status ?? 'unknown';
  if (user.enabled === false) {
    return `${who} is not locked (account status ${status}) but is disabled, so unlocking will not help: an administrator must enable the account in PingOne. Nothing was changed.`;
  }
  if (user.account.canAuthenticate === false) {
    return `${who} is not locked (account status ${status}) but PingOne reports they cannot authenticate; check the account's lifecycle status in PingOne. Nothing was changed.`;
  }
  return `${who} is not locked (account status ${status}) and can sign in; if they still cannot, check their password or MFA devices. Nothing was changed.`;
}

function unlockedSummary(user: UserSummary): string {
  const who = describeUser(user);
  if (user.enabled === false) return `Unlocked ${who}, but the account is disabled, so they still cannot sign in until an administrator enables it.`;
  return `Unlocked ${who}: they can sign in again, and their MFA lockout counter was reset.`;
}
