import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUuid, parseUuid } from '../../src/ids.js';

const ID = '3f2a9c1e-7b4d-4e8a-9c6f-0a1b2c3d4e5f';

describe('parseUuid', () => {
  it('accepts 8-4-4-4-12 hex in any case and returns it lower-cased', () => {
    expect(parseUuid(ID)).toBe(ID);
    expect(parseUuid(ID.toUpperCase())).toBe(ID);
    expect(parseUuid('3F2a9C1e-7B4d-4E8a-9C6f-0A1b2C3d4E5f')).toBe(ID);
    expect(parseUuid('00000000-0000-0000-0000-000000000000')).toBe('00000000-0000-0000-0000-000000000000');
    expect(isUuid(ID)).toBe(true);
    // The brand promises the canonical form: an upper-case UUID must go through parseUuid first.
    expect(isUuid(ID.toUpperCase())).toBe(false);
  });

  it.each([
    '',
    'jdoe',
    '../x',
    `../${ID}`,
    `${ID}/..`,
    '%2e%2e',
    `%2e%2e%2f${ID}`,
    `${ID}/devices`,
    `${ID}?x=1`,
    `${ID}#x`,
    ` ${ID}`,
    `${ID} `,
    `${ID}\n`,
    `\n${ID}`,
    `{${ID}}`,
    `urn:uuid:${ID}`,
    ID.replace(/-/g, ''),
    '3f2a9c1e7b4d4e8a9c6f0a1b2c3d4e5f0123', // 36 hex characters, no dashes
    '3f2a9c1e7-b4d-4e8a-9c6f-0a1b2c3d4e5f', // dashes in the wrong places
    '3f2a9c1e-7b4d-4e8a-9c6f-0a1b2c3d4e5g', // not hex
    '3f2a9c1e-7b4d-4e8a-9c6f_0a1b2c3d4e5f',
    '------------------------------------',
    '３f2a9c1e-7b4d-4e8a-9c6f-0a1b2c3d4e5f', // full-width digit
    `${ID}0`,
    ID.slice(1),
  ])('rejects %j', (value) => {
    expect(parseUuid(value)).toBeUndefined();
    expect(isUuid(value)).toBe(false);
  });

  it('accepts every UUID fast-check makes, in either case', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.boolean(), (uuid, upper) => {
        expect(parseUuid(upper ? uuid.toUpperCase() : uuid)).toBe(uuid.toLowerCase());
      }),
    );
  });

  it('only ever returns 36 characters of lower-case hex and dashes', () => {
    const near = fc.uuid().chain((uuid) =>
      fc.oneof(
        fc.constant(uuid),
        fc.constant(uuid.toUpperCase()),
        fc.tuple(fc.nat(35), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })).map(([i, c]) => uuid.slice(0, i) + c + uuid.slice(i + 1)),
        fc.string({ maxLength: 4, unit: 'binary' }).map((s) => uuid + s),
        fc.string({ maxLength: 4, unit: 'binary' }).map((s) => s + uuid),
      ),
    );
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ unit: 'binary', maxLength: 40 })), (value) => {
        const id = parseUuid(value);
        if (id !== undefined) {
          expect(id).toMatch(/^[0-9a-f-]{36}$/);
          expect(id).toBe(value.toLowerCase());
        }
      }),
      { numRuns: 1000 },
    );
  });
});
