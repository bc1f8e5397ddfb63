import { parseUuid, type Uuid } from '../ids.js';
import { maskIfPersonal } from '../mask.js';
import { PingOneApiError, PingOneResponseError } from '../pingone/errors.js';
import { usernameOrEmailFilter } from '../pingone/filter.js';
import type { User } from '../pingone/model.js';
import { ToolError } from './errors.js';
import { UNSAFE_TEXT } from './inputs.js';
import type { ToolCall } from './runtime.js';
import { summarizeUser } from './output.js';
import type { PingOneApi } from '../pingone/client.js';

/** The most candidates an ambiguous lookup lists; one more is fetched to know there are more. */
const MAX_CANDIDATES = 10;

export type ResolvedUser = User & { id: Uuid };

/**
 * Finds the one user an agent means by a PingOne user ID, a username or an
 * email. Not found and ambiguous are agent errors whose text says what to do.
 */
export async function resolveUser(api: PingOneApi, identifier: string, call: ToolCall): Promise<ResolvedUser> {
  const text = lookupText(identifier, '`user` must be a PingOne user ID (UUID), a username or an email');
  call.lookup = maskIfPersonal(text);
  const id = parseUuid(text);
  const user = id === undefined ? await findOne(api, text, call) : await getById(api, id, call);
  call.user = summarizeUser(user);
  return user;
}

async function getById(api: PingOneApi, id: Uuid, call: ToolCall): Promise<ResolvedUser> {
  try {
    return checked(call.observe(await api.getUser(id, call.scope)), call);
  } catch (error) {
    if (error instanceof PingOneApiError && error.status === 404) {
      throw new ToolError('USER_NOT_FOUND', `No user with ID ${id} exists in environment ${api.environmentId}. Check the ID, or look the user up by username or email.`);
    }
    throw error;
  }
}

async function findOne(api: PingOneApi, text: string, call: ToolCall): Promise<ResolvedUser> {
  const users = call.observe(await api.findUsers(usernameOrEmailFilter(text), MAX_CANDIDATES + 1, call.scope));
  const shown = maskIfPersonal(text);
  const [first] = users;
  if (first === undefined) {
    throw new ToolError('USER_NOT_FOUND', `No user has the username or email "${shown}" in environment ${api.environmentId}. Check the spelling with the person, or use their PingOne user ID.`);
  }
  if (users.length > 1) {
    const candidates = users.slice(0, MAX_CANDIDATES).map((u) => ({ id: u.id, ...(u.username ? { username: maskIfPersonal(u.username) } : {}) }));
    const listed = candidates.map((c) => `${c.username ?? '(no username)'} (${c.id})`).join(', ');
    const more = users.length > MAX_CANDIDATES ? ' and more' : '';
    throw new ToolError('USER_AMBIGUOUS', `"${shown}" matches ${users.length > MAX_CANDIDATES ? 'more than ' + MAX_CANDIDATES : users.length} users: ${listed}${more}. Confirm with the person which one is meant and call again with that user's ID.`, { candidates });
  }
  return checked(first, call);
}

/** Agent text that names a user, trimmed; control characters and blanks are refused before any request. */
export function lookupText(raw: string, what: string): string {
  const text = raw.trim();
  if (text === '' || UNSAFE_TEXT.test(text)) throw new ToolError('INVALID_INPUT', `${what}, without control characters.`);
  return text;
}

/** An ID PingOne gave us still goes into URLs later: it must be a UUID too. */
export function checked(user: User, call: ToolCall): ResolvedUser {
  const id = parseUuid(user.id);
  if (id === undefined) throw new PingOneResponseError(200, 'a user ID that is not a UUID', { attempts: 1, correlationId: call.correlationId });
  return { ...user, id };
}
