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
 * Default-ignorable code points too: Hangul fillers (U+3164, U+115F, U+FFA0),
 * the combining grapheme joiner and variation selectors are letters or marks,
 * not format characters, yet render as nothing (a "blank" reason, a look-alike
 * username).
 */
const UNSAFE_CHARACTERS = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u{E0000}-\u{E007F}]/u;
const UNSAFE_GLOBAL = new RegExp(UNSAFE_CHARACTERS.source, 'gu');
/** Breaks that separate words: they become a space rather than vanish. */
const BREAKS = /[\r\n\t\v\f\u0085\u2028\u2029]+/g;

/** The longest display text kept; longer text ends in "…". */
export const MAX_DISPLAY_LENGTH = 200;

export function safeText(raw: string, maxLength = MAX_DISPLAY_LENGTH): SafeText {
  return capped(withoutUnsafeCharacters(raw.normalize('NFC').replace(BREAKS, ' ')).trim(), maxLength) as SafeText;
}

/** Text with every character `safeText` removes taken out (and nothing else done). */
export function withoutUnsafeCharacters(text: string): string {
  return text.replace(UNSAFE_GLOBAL, '');
}

/** Text of at most `maxLength` characters (code points, never half of one); longer text ends in "…". */
export function capped(text: string, maxLength: number): string {
  // No more UTF-16 units than the cap means no more code points either: nothing to cut, nothing to split.
  if (text.length <= maxLength) return text;
  const chars = Array.from(text);
  return chars.length > maxLength ? `${chars.slice(0, maxLength - 1).join('').trimEnd()}…` : text;
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

/**
 * Agent text kept as evidence of what was sent (a refused `reason` in the
 * audit trail): every unsafe character spelled out as `\u{202E}`, so the record
 * shows the attempt without carrying it.
 */
export function escapedText(raw: string, maxLength = MAX_DISPLAY_LENGTH): SafeText {
  const spelled = raw.replace(UNSAFE_GLOBAL, (char) => `\\u{${char.codePointAt(0)!.toString(16).toUpperCase()}}`);
  const chars = Array.from(spelled);
  return (chars.length > maxLength ? `${chars.slice(0, maxLength - 1).join('')}…` : spelled) as SafeText;
}

/** Safe text inside a sentence, quoted so it reads as what someone else wrote. */
export function quoted(text: SafeText): string {
  return `"${text.replaceAll('"', "'")}"`;
}

/** Text we composed ourselves from safe parts (fixed words, checked IDs, `SafeText`). */
export function ours(text: string): SafeText {
  return text as SafeText;
}
