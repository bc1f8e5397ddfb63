import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FilterError, parseFilter, userMatches, type FilterExpr } from '../../src/sandbox/filter.js';

const jane = {
  id: '5412b934-c252-4a33-bd11-22988989ff47',
  username: 'jdoe',
  email: 'Jane.Doe@example.com',
  name: { given: 'Jane', family: 'Doe' },
  population: { id: '87f736d0-64ce-403e-8a95-a88d96d7e16d' },
};

function matches(filter: string, user: object = jane): boolean {
  return userMatches(parseFilter(filter), user);
}

describe('parseFilter', () => {
  it('parses a single comparison with a canonical attribute name', () => {
    expect(parseFilter('userName EQ "jdoe"')).toEqual({ kind: 'compare', attribute: 'username', operator: 'eq', value: 'jdoe' });
  });

  it('gives "and" precedence over "or"', () => {
    const expr = parseFilter('username eq "a" or username eq "b" and email sw "c"');
    const expected: FilterExpr = {
      kind: 'or',
      operands: [
        { kind: 'compare', attribute: 'username', operator: 'eq', value: 'a' },
        {
          kind: 'and',
          operands: [
            { kind: 'compare', attribute: 'username', operator: 'eq', value: 'b' },
            { kind: 'compare', attribute: 'email', operator: 'sw', value: 'c' },
          ],
        },
      ],
    };
    expect(expr).toEqual(expected);
  });

  it('lets parentheses override precedence', () => {
    const expr = parseFilter('(username eq "a" or username eq "b") and email sw "c"');
    expect(expr.kind).toBe('and');
  });

  it('decodes JSON escapes inside values', () => {
    const expr = parseFilter('username eq "a\\"b\\\\c\\u00e9\\n"');
    expect(expr).toMatchObject({ value: 'a"b\\c\u00e9\n' });
  });

  it.each([
    ['empty', ''],
    ['unknown attribute', 'password eq "x"'],
    ['unsupported operator', 'username co "x"'],
    ['presence operator', 'username pr'],
    ['unquoted value', 'username eq jdoe'],
    ['single-quoted value', "username eq 'jdoe'"],
    ['unterminated string', 'username eq "jdoe'],
    ['bad escape', 'username eq "a\\x"'],
    ['short unicode escape', 'username eq "\\u12"'],
    ['dangling or', 'username eq "a" or'],
    ['trailing junk', 'username eq "a" "b"'],
    ['unbalanced parenthesis', '(username eq "a"'],
    ['stray close parenthesis', 'username eq "a")'],
    ['not', 'not (username eq "a")'],
    ['unexpected character', 'username eq "a" ; drop'],
    ['deep nesting', `${'('.repeat(200)}username eq "a"${')'.repeat(200)}`],
  ])('rejects %s', (_label, filter) => {
    expect(() => parseFilter(filter)).toThrow(FilterError);
  });

  it('reports where it failed', () => {
    try {
      parseFilter('username eq "a" and bogus eq "b"');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(FilterError);
      expect((error as FilterError).position).toBe(20);
    }
  });

  it('round-trips any JSON-stringified value as an eq value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        expect(parseFilter(`email eq ${JSON.stringify(value)}`)).toEqual({ kind: 'compare', attribute: 'email', operator: 'eq', value });
      }),
    );
  });

  it('round-trips values escaped only for " and \\ (PingOne guidance)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (value) => {
        const quoted = `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
        expect(parseFilter(`username eq ${quoted}`)).toMatchObject({ kind: 'compare', value });
      }),
    );
  });
});

describe('userMatches', () => {
  it('compares username and email case-insensitively', () => {
    expect(matches('username eq "JDOE"')).toBe(true);
    expect(matches('email eq "jane.doe@EXAMPLE.com"')).toBe(true);
    expect(matches('email sw "JANE."')).toBe(true);
  });

  it('compares names case-sensitively', () => {
    expect(matches('name.given eq "Jane"')).toBe(true);
    expect(matches('name.given eq "jane"')).toBe(false);
    expect(matches('name.family sw "Do"')).toBe(true);
  });

  it('evaluates or / and', () => {
    expect(matches('username eq "nobody" or email eq "jane.doe@example.com"')).toBe(true);
    expect(matches('username eq "jdoe" and name.family eq "Smith"')).toBe(false);
    expect(matches('population.id eq "87f736d0-64ce-403e-8a95-a88d96d7e16d" and id sw "5412"')).toBe(true);
  });

  it('treats a missing or non-string attribute as not matching', () => {
    expect(matches('name.given eq "Jane"', { id: 'x' })).toBe(false);
    expect(matches('email sw ""', { id: 'x', email: 42 })).toBe(false);
  });

  it('does not treat a value as a pattern', () => {
    expect(matches('username sw ".*"')).toBe(false);
    expect(matches('username eq "jdoe\\" or username eq \\"x"')).toBe(false);
  });
});
