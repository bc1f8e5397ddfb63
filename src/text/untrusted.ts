/**
 * Text that came from outside (PingOne's names, nicknames and error fields, set
 * by end users or echoed by a gateway) made safe to show: no control,
 * line-breaking, direction-changing or invisible characters, NFC-normalised
 * and capped. The brand marks a string that went through `safeText`, so a raw
 * PingOne string cannot be passed where a sentence, the confirmation question,
 * the audit trail or the log expects safe text.
 *
 * Identity (a user's raw ID, username and email) is deliberately NOT made safe
 * here: guards compare PingOne's own values (see `pingone/identity.ts`).
 */
export type SafeText = string & { readonly __brand: 'SafeText' };

/**
 * Controls (C0, DEL, C1), format characters (zero-width, U+FEFF, soft hyphen,
 * bidi embeddings, overrides and isolates, the tag block), lone surrogates,
 * and line/paragraph separators. U+E0000 is unassigned but sits in the tag block.
 */
const UNSAFE_CHARACTERS = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\u{E0000}-\u{E007F}]/u;
const UNSAFE_GLOBAL = new RegExp(UNSAFE_CHARACTERS.source, 'gu');
/** Breaks that separate words: they become a space rather than vanish. */
const BREAKS = /[\r\n\t\v\f\u0085\u2028\u2029]+/g;

/** The longest display text kept; longer text ends in "…". */
export const MAX_DISPLAY_LENGTH = 200;

export function safeText(raw: string, maxLength = MAX_DISPLAY_LENGTH): SafeText {
  const cleaned = raw.normalize('NFC').replace(BREAKS, ' ').replace(UNSAFE_GLOBAL, '').trim();
  const chars = Array.from(cleaned);
  const capped = chars.length > maxLength ? `${chars.slice(0, maxLength - 1).join('').trimEnd()}…` : cleaned;
  return capped as SafeText;
}

/** `safeText` for an optional field. */
export function safeOptional(raw: string | undefined, maxLength?: number): SafeText | undefined {
  if (raw === undefined) return undefined;
  const text = safeText(raw, maxLength);
  return text === '' ? undefined : text;
}

/** Whether text carries a character `safeText` would remove: agent text with one is refused, not cleaned. */
export function hasUnsafeCharacters(text: string): boolean {
  return UNSAFE_CHARACTERS.test(text);
}

/** Safe text inside a sentence, quoted so it reads as what someone else wrote. */
export function quoted(text: SafeText): string {
  return `"${text.replaceAll('"', "'")}"`;
}

/** Text we composed ourselves from safe parts (fixed words, checked IDs, `SafeText`). */
export function ours(text: string): SafeText {
  return text as SafeText;
}
