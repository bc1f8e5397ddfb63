import { capped, withoutUnsafeCharacters } from '../text/untrusted.js';

/**
 * Display names come from token claims that end users can often edit
 * (a username, an email, a profile name): untrusted text that ends up in the
 * audit trail and the log. Only what a person can read survives: the
 * characters `safeText` removes go too, and whitespace folds to one space.
 */

export const MAX_DISPLAY_NAME_LENGTH = 64;

// The braille blank is neither whitespace nor default-ignorable, yet a name made of it reads as blank.
const BRAILLE_BLANK = /\u2800/gu;

/** Readable text, one line, at most MAX_DISPLAY_NAME_LENGTH characters; '' when nothing readable is left. */
export function sanitizeDisplayName(raw: string): string {
  // Line breaks and tabs become spaces first, so that "a\nb" reads "a b", not "ab"; runs of space fold to one.
  const spaced = raw.normalize('NFC').replace(/\s+/gu, ' ').replace(BRAILLE_BLANK, '');
  return capped(withoutUnsafeCharacters(spaced).replace(/\s+/gu, ' ').trim(), MAX_DISPLAY_NAME_LENGTH);
}

/**
 * The first claim in `claims` that holds readable text, sanitised. The caller
 * ends the list with `sub`, which a verified token always has.
 */
export function displayNameFromClaims(payload: Readonly<Record<string, unknown>>, claims: readonly string[]): string {
  for (const claim of claims) {
    const value = payload[claim];
    if (typeof value !== 'string') continue;
    const name = sanitizeDisplayName(value);
    if (name !== '') return name;
  }
  return '';
}
