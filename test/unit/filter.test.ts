import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteFilterValue, usernameOrEmailFilter } from '../../src/pingone/filter.js';

const PREFIX = 'username eq ';
const MIDDLE = ' or email eq ';

/** Splits a filter of the shape `username eq Q or email eq Q` without trusting any delimiter inside Q. */
function quotedValue(filter: string): string {
  const qLength = (filter.length - PREFIX.length - MIDDLE.length) / 2;
  expect(Number.isInteger(qLength)).toBe(true);
  const q = filter.slice(PREFIX.length, PREFIX.length + qLength);
  expect(filter).toBe(`${PREFIX}${q}${MIDDLE}${q}`);
  return q;
}

describe('usernameOrEmailFilter', () => {
  it('quotes and escapes the value JSON-style', () => {
    expect(usernameOrEmailFilter('a"b\\c')).toBe('username eq "a\\"b\\\\c" or email eq "a\\"b\\\\c"');
    expect(usernameOrEmailFilter('jdoe')).toBe('username eq "jdoe" or email eq "jdoe"');
    expect(quoteFilterValue('line\nbreak')).toBe('"line\\nbreak"');
  });

  it('keeps an injection attempt inside one quoted value', () => {
    const attack = 'x" or username pr or email eq "y';
    const q = quotedValue(usernameOrEmailFilter(attack));
    expect(JSON.parse(q)).toBe(attack);
  });

  it('for any text, is exactly `username eq Q or email eq Q` with Q one JSON string of that text', () => {
    const tricky = fc.array(fc.constantFrom('"', '\\', ' or ', ' and ', ')', '(', '\n', '\u0000', '\u2028', '\ud800', 'eq', "'"), { maxLength: 8 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), tricky), (input) => {
        const filter = usernameOrEmailFilter(input);
        const q = quotedValue(filter);
        expect(q.startsWith('"') && q.endsWith('"')).toBe(true);
        // JSON.parse accepts exactly one value: a second clause could not hide after the string.
        expect(JSON.parse(q)).toBe(input);
        // No raw control characters reach PingOne's parser.
        expect(filter).not.toMatch(/[\u0000-\u001f]/);
      }),
      { numRuns: 1000 },
    );
  });
});
