import type { Uuid } from '../ids.js';

/**
 * A PingOne user's own identifiers, exactly as PingOne holds them. Only the
 * guards and the lookups read this: display forms (sanitised, masked) are made
 * elsewhere, for output, so no later display step can turn a guard into a
 * comparison of display strings.
 */
export interface UserIdentity {
  readonly id: Uuid;
  readonly username: string | undefined;
  readonly email: string | undefined;
  /** The population the user belongs to; undefined when PingOne gave none (or not a UUID). */
  readonly populationId: Uuid | undefined;
}

/**
 * How an identifier is compared: without surrounding whitespace, Unicode NFC,
 * then case-insensitive. Used for both sides (the configured entry and
 * PingOne's value), so a decomposed or differently cased spelling names the
 * same account. The configuration's lists are trimmed, so an entry can never
 * name a PingOne value that begins or ends with a space: trimmed here too, such
 * a value still matches (a false match only refuses).
 */
export function identityKey(text: string): string {
  return text.trim().normalize('NFC').toLowerCase().normalize('NFC');
}

/** Every key under which this user may be listed: ID, username and email. */
export function identityKeys(identity: UserIdentity): string[] {
  return [identity.id, identity.username, identity.email].filter((value): value is string => value !== undefined && value !== '').map(identityKey);
}
