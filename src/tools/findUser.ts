import * as z from 'zod';
import { parseUuid } from '../ids.js';
import { maskEmail, maskIfPersonal } from '../mask.js';
import { userSearchFilter } from '../pingone/filter.js';
import type { UserRecord } from '../pingone/records.js';
import { defineTool } from './definition.js';
import { denialNote, targetDenial } from './guards.js';
import { FindUserOutputSchema, summarizeUser, userHandle, type FoundUser } from './output.js';
import { isLockedOut, passwordNote, summarizePassword, type PasswordSummary } from './password.js';
import { observePassword } from './readBack.js';
import { lookupText, orNotFound, userTarget } from './resolveUser.js';
import type { Call } from './call.js';

/** Matches listed; one more is fetched to know whether there are more. */
const MAX_MATCHES = 10;

export const findUserTool = defineTool({
  name: 'find_user',
  title: 'Find PingOne users',
  description:
    'Looks users up by PingOne user ID, username (or its beginning), exact email, or name ("Jane", "Jane Doe"), and shows up to 10 matches with their account state ' +
    '(locked or not, disabled, automatic unlock time) and what can be done next; for a single match also the password state (locked out, expired, must change, when a lockout lifts by itself). Changes nothing.',
  input: z.strictObject({
    query: z.string().min(1).max(256).describe('A user ID, username, email, or the beginning of a given or family name, as the person gave it.'),
  }),
  output: FindUserOutputSchema,
  async run(args, call) {
    const query = lookupText(args.query, '`query` must be a user ID, username, email or name');
    const shown = maskIfPersonal(query);
    const users = await search(call, query);
    // One extra read for a single match only: several matches are not each read.
    const password = users.length === 1 && users[0] ? await readPassword(call, users[0]) : undefined;
    const found = users.slice(0, MAX_MATCHES).map((user) => describeMatch(call, user, password));
    const more = users.length > MAX_MATCHES;
    const single = found.length === 1 && users[0] ? summarizeUser(users[0]) : undefined;
    const target = single && users[0] ? userTarget(call, users[0]) : call.target({ lookup: shown });
    return { outcome: 'found', summary: searchSummary(found, more, shown), target, details: { ...(single ? { user: single } : {}), users: found, more } };
  },
});

async function search(call: Call, query: string): Promise<UserRecord[]> {
  const { pingone } = call.deps;
  const id = parseUuid(query);
  if (id === undefined) return call.observe(await pingone.findUsers(userSearchFilter(query), MAX_MATCHES + 1, call.scope));
  const answer = await orNotFound(call, () => pingone.getUser(id, call.scope));
  return 'found' in answer ? [answer.found] : [];
}

/** The password state never fails the lookup: what cannot be read is shown as unknown. */
async function readPassword(call: Call, user: UserRecord): Promise<PasswordSummary> {
  return summarizePassword(observePassword(call, await call.deps.pingone.getPasswordState(user.identity.id, call.scope)));
}

function describeMatch(call: Call, user: UserRecord, password: PasswordSummary | undefined): FoundUser {
  const summary = summarizeUser(user);
  // A user the guards protect cannot be changed here: say so instead of naming a write tool.
  const denied = denialNote(targetDenial(call.deps.guards, user));
  return {
    ...summary,
    ...(user.email === undefined ? {} : { email: maskEmail(user.email) }),
    ...(password === undefined ? {} : { password }),
    nextStep: withPassword(nextStep(summary.account, summary.enabled, denied), summary.account, password, denied),
  };
}

/** The password's part of the next step: a lockout unlock_user clears, or why unlocking will not help. */
function withPassword(step: string, account: FoundUser['account'], password: PasswordSummary | undefined, denied: string | undefined): string {
  const note = password === undefined ? undefined : passwordNote(password);
  if (note === undefined || password === undefined) return step;
  if (isLockedOut(password) && account.status !== 'LOCKED' && denied === undefined) return `${note}: unlock_user can help`;
  if (isLockedOut(password) && account.status !== 'LOCKED') return `${note}; ${denied}`;
  return `${step}; ${note}`;
}

function nextStep(account: FoundUser['account'], enabled: boolean | undefined, denied: string | undefined): string {
  const auto = account.status === 'LOCKED' && account.unlockAt ? ` (PingOne unlocks it by itself at ${account.unlockAt})` : '';
  const state = account.status === 'LOCKED' ? (enabled === false ? 'locked and disabled' : 'locked') : enabled === false ? 'disabled' : 'not locked';
  if (denied !== undefined) return `${state}${auto}; ${denied}`;
  if (account.status === 'LOCKED') {
    return enabled === false ? `locked and disabled: unlock_user clears the lock, but an administrator must enable the account${auto}` : `locked: unlock_user can help${auto}`;
  }
  if (enabled === false) return 'disabled: unlocking will not help; an administrator must enable the account';
  return 'not locked: if they cannot sign in, check their MFA devices with list_user_devices';
}

function searchSummary(found: FoundUser[], more: boolean, query: string): string {
  if (found.length === 0) return `No user matches "${query}". Check the spelling with the person, or try their email or user ID.`;
  if (found.length === 1) return `Found ${userHandle(found[0]!)}: ${found[0]!.nextStep}.`;
  const names = found.map(userHandle).join(', ');
  return `${more ? `More than ${MAX_MATCHES}` : found.length} users match "${query}": ${names}${more ? ', …' : ''}. Confirm with the person which one is meant${more ? ', or refine the query' : ''}.`;
}
