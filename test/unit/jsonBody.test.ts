import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from '../../src/http/jsonBody.js';

/** The nesting of valid JSON text, counted the slow, obvious way. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

describe('nestsDeeperThan', () => {
  const texts = [
    '{}',
    '[[[]]]',
    '"[[[["',
    JSON.stringify({ a: '\\', b: [[['\\"[[']]] }),
    JSON.stringify({ a: '\\'.repeat(7) + '"[{', b: [{ c: ['\\\\', '"'] }] }),
    JSON.stringify([{ 'key with ] and }': [1, '{'] }, []]),
    JSON.stringify({ text: 'Ünïcödé [ 日本 { 🙂', deeper: [[[[1]]]] }),
  ];

  it('agrees with the depth of the parsed value, whatever brackets, quotes and backslashes the strings hold', () => {
    for (const text of texts) {
      const depth = depthOf(JSON.parse(text));
      const bytes = Buffer.from(text);
      expect([text, nestsDeeperThan(bytes, depth)]).toEqual([text, false]);
      if (depth > 0) expect([text, nestsDeeperThan(bytes, depth - 1)]).toEqual([text, true]);
    }
  });

  it('stops at the limit on a body nested far deeper', () => {
    expect(nestsDeeperThan(Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)), 100)).toBe(true);
    expect(nestsDeeperThan(Buffer.from(JSON.stringify({ long: 'x'.repeat(1_000_000) })), 100)).toBe(false);
  });
});
