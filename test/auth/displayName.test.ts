import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { displayNameFromClaims, MAX_DISPLAY_NAME_LENGTH, sanitizeDisplayName } from '../../src/auth/displayName.js';

describe('sanitizeDisplayName', () => {
  it('removes controls, bidi overrides, zero-width and invisible characters, and folds whitespace', () => {
    expect(sanitizeDisplayName('bob\u202e\u2066smith\u200b\u200d\ufeff')).toBe('bobsmith');
    expect(sanitizeDisplayName('line one\r\nforged: entry\u2028\u0000x')).toBe('line one forged: entry x');
    expect(sanitizeDisplayName('\u3164\u115f  ')).toBe('');
    expect(sanitizeDisplayName('  José   Müller ')).toBe('José Müller');
  });

  it('caps the length without splitting a character', () => {
    const long = '😀'.repeat(100);
    const capped = sanitizeDisplayName(long);
    expect(Array.from(capped)).toHaveLength(MAX_DISPLAY_NAME_LENGTH);
    expect(capped.endsWith('…')).toBe(true);
    expect(capped).not.toMatch(/\p{Cs}/u);
  });

  it('never lets an invisible, control or bidi character through, and stays within the cap', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-composite', maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), (a, b) => {
        const out = sanitizeDisplayName(a + b);
        expect(out).not.toMatch(/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u);
        expect(Array.from(out).length).toBeLessThanOrEqual(MAX_DISPLAY_NAME_LENGTH);
        expect(out).toBe(out.trim());
      }),
    );
  });
});

describe('displayNameFromClaims', () => {
  const claims = ['preferred_username', 'email', 'sub'];
  it('takes the first claim with readable text, in the configured order', () => {
    expect(displayNameFromClaims({ preferred_username: 'bsmith', email: 'b@example.com', sub: 'id' }, claims)).toBe('bsmith');
    expect(displayNameFromClaims({ preferred_username: '\u200b\u202e', email: 'b@example.com', sub: 'id' }, claims)).toBe('b@example.com');
    expect(displayNameFromClaims({ preferred_username: 42, sub: 'id' }, claims)).toBe('id');
    expect(displayNameFromClaims({ name: 'Bob', sub: 'id' }, ['name', 'sub'])).toBe('Bob');
  });
});
