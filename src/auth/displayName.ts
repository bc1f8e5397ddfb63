/**
 * Display names come from token claims that end users can often edit
 * (a username, an email, a profile name): untrusted text that ends up in the
 * audit trail and the log. Only what a person can read survives.
 */

export const MAX_DISPLAY_NAME_LENGTH = 64;

// Controls, format characters (bidi overrides and isolates, zero-width joiners, BOM, tag
// characters), lone surrogates, line and paragraph separators, and the fillers that render as nothing.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0\u2800\u{e0100}-\u{e01ef}\ufe00-\ufe0f]/gu;

/** Readable text, one line, at most MAX_DISPLAY_NAME_LENGTH characters; '' when nothing readable is left. */
export function sanitizeDisplayName(raw: string): string {
  // Line breaks and tabs become spaces first, so that "a\nb" reads "a b", not "ab".
  const readable = raw.normalize('NFC').replace(/\s+/gu, ' ').replace(INVISIBLE, '').replace(/\s+/gu, ' ').trim();
  const characters = Array.from(readable);
  if (characters.length <= MAX_DISPLAY_NAME_LENGTH) return readable;
  return `${characters.slice(0, MAX_DISPLAY_NAME_LENGTH - 1).join('').trimEnd()}…`;
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
