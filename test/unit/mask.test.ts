import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskEmail, maskIfPersonal, maskPhone } from '../../src/mask.js';

describe('maskPhone', () => {
  it('keeps the country prefix and the last four digits', () => {
    expect(maskPhone('+15555550150')).toBe('+1******0150');
  });

  it('drops formatting before masking', () => {
    expect(maskPhone('+1 (555) 555-0150')).toBe('+1******0150');
    expect(maskPhone('+44.20.7946.0958')).toBe('+4*******0958');
  });

  it('masks short inputs entirely', () => {
    expect(maskPhone('')).toBe('');
    expect(maskPhone('12345')).toBe('*****');
    expect(maskPhone('123456')).toBe('******');
    expect(maskPhone('1234567')).toBe('12*4567');
  });

  it('never shows more than the first two and the last four characters', () => {
    fc.assert(
      fc.property(fc.oneof(fc.stringMatching(/^\+?[0-9 ().-]{0,24}$/), fc.string({ maxLength: 30 })), (phone) => {
        const masked = maskPhone(phone);
        const compact = phone.replace(/[\s().-]/g, '');
        expect(masked).toHaveLength(compact.length);
        // Everything between the prefix and the tail is a star.
        expect(masked.slice(2, -4).replace(/\*/g, '')).toBe('');
        // At most four digits of the number's end are visible.
        expect((masked.slice(2).match(/[0-9]/g) ?? []).length).toBeLessThanOrEqual(4);
        if (compact.length <= 6) expect(masked).toBe('*'.repeat(compact.length));
      }),
    );
  });
});

describe('maskEmail', () => {
  it('keeps the first character and the domain', () => {
    expect(maskEmail('dana@example.com')).toBe('d***@example.com');
    expect(maskEmail('a@b')).toBe('a***@b');
  });

  it('masks odd inputs without leaking them', () => {
    expect(maskEmail('@example.com')).toBe('***');
    expect(maskEmail('no-at-sign')).toBe('***');
    expect(maskEmail('')).toBe('***');
    // The domain is what follows the last @.
    expect(maskEmail('"a@b"@example.com')).toBe('"***@example.com');
  });

  it('maskIfPersonal masks emails and passes other identifiers through', () => {
    expect(maskIfPersonal('dana@example.com')).toBe('d***@example.com');
    expect(maskIfPersonal('dana.smith')).toBe('dana.smith');
  });

  it('never shows a local part longer than one character', () => {
    fc.assert(
      fc.property(
        fc.emailAddress().filter((email) => {
          const local = email.slice(0, email.lastIndexOf('@'));
          // A local part made of its first letter and stars is indistinguishable from the mask itself.
          return local.length > 1 && !/^.\*+$/.test(local);
        }),
        (email) => {
          const at = email.lastIndexOf('@');
          const local = email.slice(0, at);
          const masked = maskEmail(email);
          const maskedLocal = masked.slice(0, masked.lastIndexOf('@'));
          expect(maskedLocal).not.toContain(local);
          expect(maskedLocal).toBe(`${local[0]}***`);
          expect(masked.slice(masked.lastIndexOf('@'))).toBe(email.slice(at));
        },
      ),
    );
  });
});

describe('masking never cuts a character in half', () => {
  it('keeps surrogate pairs whole in phones and emails', () => {
    const lone = /[\ud800-\udfff]/u;
    expect(maskPhone('\u{10000}\u{10000}!\u{10000}')).not.toMatch(lone);
    expect(maskPhone('+1\u{1F4DE}5555550150')).toBe('+1*******0150');
    expect(maskEmail('\u{1F600}bc@example.com')).toBe('\u{1F600}***@example.com');
  });
});
