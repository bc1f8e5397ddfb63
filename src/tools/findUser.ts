import { z } from 'zod';
import { parseUuid } from '../ids.js';
import { maskEmail, maskIfPersonal } from '../mask.js';
import { PingOneApiError } from '../pingone/errors.js';
import { userSearchFilter } from '../pingone/filter.js';
import type { User } from '../pingone/model.js';
import { defineTool } from './definition.js';
import { checkTarget } from './guards.js';
import { FindUserOutputSchema, summarizeUser, type FoundUser, type UserSummary } from './output.js';
import { checked, lookupText } from './resolveUser.js';
import type { ToolCall } from './runtime.js';
import { ToolError } from './errors.js';

/** Matches listed; one more is fetched to know whether there are more. */
const MAX_MATCHES = 10;

export const findUserTool = defineTool({
  name: 'find_user',
  access: 'read',
  title: 'Find PingOne users',
  description:
    'Looks users up by PingOne user ID, username (or its beginning), exact email, or name ("Jane", "Jane Doe"), and shows up to 10 matches with their account state ' +
    '(locked or not, disabled, automatic unlock time) and what can be done next. Changes nothing.',
  input: z.strictObject({
    query: z.string().min(1).max(256).describe('A user ID, username, email, or the beginning of a given or family name, as the person gave it.'),
  }),
  output: FindUserOutputSchema,
  async run(args, call) {
    const query = lookupText(args.query, '`query` must be a user ID, username, email or name');
    call.lookup = maskIfPersonal(query);
    const users = await search(call, query);
    const found = users.slice(0, MAX_MATCHES).map((user) => describeMatch(call, user));
    const [only] = found;
    if (found.length === 1 && only) call.user = stripForAudit(only);
    const more = users.length > MAX_MATCHES;
    return { outcome: 'found', summary: searchSummary(found, more, maskIfPersonal(query)), details: { users: found, more } };
  },
});

async function search(call: ToolCall, query: string): Promise<User[]> {
  const { pingone } = call.deps;
  const id = parseUuid(query);
  if (id === undefined) return call.observe(await pingone.findUsers(userSearchFilter(query), MAX_MATCHES + 1, call.scope));
  try {
    return [call.observe(await pingone.getUser(id, call.scope))];
  } catch (error) {
    if (error instanceof PingOneApiError && error.status === 404) return [];
    throw error;
  }
}

function describeMatch(call: ToolCall, raw: User): FoundUser {
  const summary = summarizeUser(checked(raw, call));
  return { ...summary, ...(raw.email === undefined ? {} : { email: maskEmail(raw.email) }), nextStep: nextStep(call, summary) };
}

function nextStep(call: ToolCall, user: UserSummary): string {
  const { account } = user;
  let step: string;
  if (account.status === 'LOCKED') {
    const auto = account.unlockAt ? ` (PingOne unlocks it by itself at ${account.unlockAt})` : '';
    step = user.enabled === false ? `locked and disabled: unlock_user clears the lock, but an administrator must enable the account${auto}` : `locked: unlock_user can help${auto}`;
  } else if (user.enabled === false) {
    step = 'disabled: unlocking will not help; an administrator must enable the account';
  } else {
    step = 'not locked: if they cannot sign in, check their MFA devices with list_user_devices';
  }
  const denial = writeDenial(call, user);
  return denial ? `${step}; but ${denial}` : step;
}

/** Reads still show users the guards protect; say so before the agent tries. */
function writeDenial(call: ToolCall, user: UserSummary): string | undefined {
  try {
    checkTarget(call.deps.guards, user);
    return undefined;
  } catch (error) {
    if (error instanceof ToolError) return error.code === 'PROTECTED_USER' ? 'this server may not change this protected account' : 'this server may not change users of this population';
    throw error;
  }
}

function stripForAudit(user: FoundUser): UserSummary {
  const { email: _email, nextStep: _next, ...summary } = user;
  return summary;
}

function searchSummary(found: FoundUser[], more: boolean, query: string): string {
  if (found.length === 0) return `No user matches "${query}". Check the spelling with the person, or try their email or user ID.`;
  if (found.length === 1) return `Found ${found[0]!.username ?? found[0]!.id}: ${found[0]!.nextStep}.`;
  const names = found.map((u) => u.username ?? u.id).join(', ');
  return `${more ? `More than ${MAX_MATCHES}` : found.length} users match "${query}": ${names}${more ? ', …' : ''}. Confirm with the person which one is meant${more ? ', or refine the query' : ''}.`;
}
