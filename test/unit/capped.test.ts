import { describe, expect, it } from 'vitest';
import { capped } from '../../src/text/untrusted.js';

describe('capped', () => {
  it('keeps text of at most the cap as it is, counting code points rather than UTF-16 units', () => {
    expect(capped('abcde', 5)).toBe('abcde');
    // Five code points, ten UTF-16 units: within a cap of five.
    const astral = '😀😀😀😀😀';
    expect(capped(astral, 5)).toBe(astral);
    expect(capped('', 1)).toBe('');
  });

  it('cuts longer text to the cap, ending in "…", never inside a surrogate pair', () => {
    expect(capped('abcdef', 5)).toBe('abcd…');
    const cut = capped('😀😀😀😀😀😀', 5);
    expect(cut).toBe('😀😀😀😀…');
    expect(Array.from(cut)).toHaveLength(5);
    expect(capped('abc   def', 5)).toBe('abc…');
  });
});
