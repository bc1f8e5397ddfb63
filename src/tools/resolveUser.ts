import type { AuditTarget } from '../audit/record.js';
import { parseUuid, type Uuid } from '../ids.js';
import { maskIfPersonal } from '../mask.js';
import type { Reply } from '../pingone/client.js';
import { PingOneApiError } from '../pingone/errors.js';
import { usernameOrEmailFilter } from '../pingone/filter.js';
import type { UserRecord } from '../pingone/records.js';
import { escapedText, hasUnsafeCharacters } from '../text/untrusted.js';
import { ToolError } from './errors.js';
import { describeUser, summarizeUser, type UserSummary } from './output.js';
import type { Call } from './call.js';

/** The most candidates an ambiguous lookup lists; one more is fetched to know there are more. */
const MAX_CANDIDATES = 10;

/** The one user a lookup found: the record (identity for the guards) and its display summary. */
export interface FoundTarget {
  user: UserRecord;
  summary: UserSummary;
  /** The audit target naming this user. */
  target: AuditTarget;
}

/**
 * Finds the one user an agent means by a PingOne user ID, a username or an
 * email. Not found and ambiguous are agent errors whose text says what to do;
 * their audit target is the (masked) lookup text.
 */
export async function resolveUser(call: Call, identifier: string): Promise<FoundTarget> {
  const text = lookupText(identifier, '`user` must be a PingOne user ID (UUID), a username or an email');
  const lookup = call.target({ lookup: maskIfPersonal(text) });
  const id = parseUuid(text);
  const user = id === undefined ? await findOne(call, text, lookup) : await getById(call, id, lookup);
  const summary = summarizeUser(user);
  return { user, summary, target: userTarget(call, user) };
}

/**
 * The audit target of a user: ID and PingOne's own username (masked when personal), with every
 * invisible or control character spelled out (`\u{200B}`), never dropped as the display form drops
 * them: a trail that said "admin" for the account "ad\u{200B}min" would name another account.
 */
export function userTarget(call: Call, user: UserRecord): AuditTarget {
  const { id, username } = user.identity;
  return call.target({ userId: id, ...(username ? { username: maskIfPersonal(escapedText(username)) } : {}) });
}

/** A user by ID; PingOne's 404 is the agent's "no such user", with PingOne's answer kept for the audit. */
export async function getById(call: Call, id: Uuid, lookup: AuditTarget): Promise<UserRecord> {
  const { pingone } = call.deps;
  const found = await orNotFound(call, () => pingone.getUser(id, call.scope));
  if ('notFound' in found) {
    throw new ToolError('USER_NOT_FOUND', `No user with ID ${id} exists in environment ${pingone.environmentId}. Check the ID, or look the user up by username or email.`, {}, { target: lookup, cause: found.notFound });
  }
  return found.found;
}

/**
 * A PingOne read, or PingOne's 404 as a value (kept: the audit records what
 * PingOne said even when the tool turns it into "not found"). Written once.
 */
export async function orNotFound<T>(call: Call, request: () => Promise<Reply<T>>): Promise<{ found: T } | { notFound: PingOneApiError }> {
  try {
    return { found: call.observe(await request()) };
  } catch (error) {
    if (error instanceof PingOneApiError && error.status === 404) return { notFound: error };
    throw error;
  }
}

async function findOne(call: Call, text: string, lookup: AuditTarget): Promise<UserRecord> {
  const { pingone } = call.deps;
  const users = call.observe(await pingone.findUsers(usernameOrEmailFilter(text), MAX_CANDIDATES + 1, call.scope));
  const shown = maskIfPersonal(text);
  const [first] = users;
  if (first === undefined) {
    throw new ToolError('USER_NOT_FOUND', `No user has the username or email "${shown}" in environment ${pingone.environmentId}. Check the spelling with the person, or use their PingOne user ID.`, {}, { target: lookup });
  }
  if (users.length > 1) {
    const listedUsers = users.slice(0, MAX_CANDIDATES).map(summarizeUser);
    const candidates = listedUsers.map((summary) => ({ id: summary.id, ...(summary.username ? { username: summary.username } : {}) }));
    const listed = listedUsers.map((summary) => `${describeUser(summary)} (${summary.id})`).join(', ');
    const more = users.length > MAX_CANDIDATES;
    throw new ToolError(
      'USER_AMBIGUOUS',
      `"${shown}" matches ${more ? `more than ${MAX_CANDIDATES}` : users.length} users: ${listed}${more ? ' and more' : ''}. Confirm with the person which one is meant and call again with that user's ID.`,
      { candidates },
      { target: lookup },
    );
  }
  return first;
}

/** Agent text that names a user, trimmed; blanks and control or invisible characters are refused before any request. */
export function lookupText(raw: string, what: string): string {
  const text = raw.trim();
  // Checked before trimming too: trim() removes U+FEFF and line breaks, which must be refused, not hidden.
  if (text === '' || hasUnsafeCharacters(raw.replace(/^ +| +$/g, ''))) throw new ToolError('INVALID_INPUT', `${what}, without control or invisible characters.`);
  return text;
}
