/**
 * Phone numbers and emails are personal data: results show them masked, and
 * the audit trail never holds them at all.
 */

/** `+15555550150` → `+1******0150`: the country prefix and the last four digits stay. */
export function maskPhone(phone: string): string {
  // By code point, never by UTF-16 unit: a cut through a surrogate pair would leave half a character.
  const compact = Array.from(phone.replace(/[\s().-]/g, ''));
  if (compact.length <= 6) return '*'.repeat(compact.length);
  return compact.slice(0, 2).join('') + '*'.repeat(compact.length - 6) + compact.slice(-4).join('');
}

/** `jane.doe@example.com` → `j***@example.com`. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${Array.from(email)[0]}***${email.slice(at)}`;
}

const PHONE_LIKE = /^\+?[\d\s().-]{7,24}$/;

/**
 * Masks text that is personal data in disguise — a username or lookup that is
 * an email or a phone number; other identifiers (usernames, IDs) pass unchanged.
 */
export function maskIfPersonal(text: string): string {
  if (text.includes('@')) return maskEmail(text);
  if (PHONE_LIKE.test(text) && text.replace(/\D/g, '').length >= 7) return maskPhone(text);
  return text;
}
