import * as fs from 'node:fs';
import * as path from 'node:path';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalRecordJson, normalizeEntry } from '../../src/audit/chain.js';
import type { AuditEntry } from '../../src/audit/record.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { verifyAuditContent, verifyAuditFile } from '../../src/audit/verify.js';
import { sampleEntry, tempDir } from './helpers.js';

/** Text an agent or a directory could hand us: any code point, line breaks, escapes, quotes, lone surrogates. */
const hostileText = fc.string({
  unit: fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.constantFrom('\r', '\n', '\u2028', '\u2029', '\u0085', '\u001b', '\u0000', '\u000b', '"', '\\', '\ud800', '\udfff', '{', '}'),
  ),
  maxLength: 60,
});

const entryArbitrary: fc.Arbitrary<AuditEntry> = fc
  .record({
    i: fc.nat(1000),
    reason: hostileText,
    username: hostileText,
    operator: fc.option(hostileText, { nil: undefined }),
    durationMs: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
  })
  .map(({ i, reason, username, operator, durationMs }) => {
    const base = sampleEntry(i);
    return {
      ...base,
      reason,
      target: { ...base.target, username },
      actor: { ...base.actor, ...(operator === undefined ? {} : { operator }) },
      ...(durationMs === undefined ? {} : { durationMs }),
    };
  });

const wellFormed = (text: string): string => text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\ufffd');

describe('properties', () => {
  it('any sequence of entries verifies, one record per line, text kept as data', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArbitrary, { minLength: 1, maxLength: 6 }), async (entries) => {
        const file = path.join(tempDir(), 'audit.jsonl');
        const trail = await openAuditTrail(file);
        for (const entry of entries) await trail.append(entry);
        const text = fs.readFileSync(file, 'utf8');
        const lines = text.slice(0, -1).split('\n');
        expect(lines).toHaveLength(entries.length);
        lines.forEach((line, index) => {
          const record = JSON.parse(line) as AuditEntry;
          expect(record.reason).toBe(wellFormed(entries[index]?.reason ?? ''));
        });
        expect(await verifyAuditFile(file)).toEqual(expect.objectContaining({ ok: true, records: entries.length }));
      }),
      { numRuns: 60 },
    );
  });

  // The append path spells RFC 8785 with JSON.stringify over sorted keys; the library
  // that verifies every line read back must agree on all data an entry can carry.
  it('the append path\'s canonical JSON equals the RFC 8785 library\'s, for any entry data', () => {
    const key = fc.oneof(hostileText, fc.constantFrom('0', '1', '10', '9', '01', '-1', '__proto__', 'é', 'e\u0301', '😀', 'Z', 'a', 'ab', ''));
    const data = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        hostileText,
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        tie('object'),
      ),
      object: fc.dictionary(key, tie('value'), { maxKeys: 6 }),
    }));
    fc.assert(
      fc.property(data.object, (object) => {
        const fields = normalizeEntry(object as unknown as AuditEntry);
        expect(canonicalRecordJson(fields)).toBe(canonicalize(fields));
      }),
      { numRuns: 2000 },
    );
  });

  describe('a changed byte anywhere is detected', () => {
    let original: Buffer;

    beforeAll(async () => {
      const file = path.join(tempDir(), 'audit.jsonl');
      const trail = await openAuditTrail(file);
      // Content with escapes that have hex letters (\u001b, \u000b), quotes, backslashes and multi-byte text.
      await trail.append(sampleEntry(0, { reason: 'ESC\u001b[31m VT\u000b "quoted" back\\slash' }));
      await trail.append(sampleEntry(1, { reason: 'ünïcödé 😀 \u2028 line sep' }));
      await trail.append(sampleEntry(2));
      original = fs.readFileSync(file);
      expect(verifyAuditContent(original)).toMatchObject({ ok: true, records: 3 });
    });

    it('random position, random different value', () => {
      fc.assert(
        fc.property(fc.nat({ max: original.length - 1 }), fc.integer({ min: 1, max: 255 }), (position, delta) => {
          const mutated = Buffer.from(original);
          mutated[position] = ((original[position] ?? 0) + delta) % 256;
          expect(verifyAuditContent(mutated).ok).toBe(false);
        }),
        { numRuns: 3000 },
      );
    });

    it('every position, several values (including hex-digit case flips)', () => {
      const undetected: string[] = [];
      for (let position = 0; position < original.length; position++) {
        const byte = original[position] ?? 0;
        for (const value of new Set([byte ^ 0x01, byte ^ 0x20, byte ^ 0x80, 0x0a, 0x20])) {
          if (value === byte) continue;
          const mutated = Buffer.from(original);
          mutated[position] = value;
          if (verifyAuditContent(mutated).ok) undetected.push(`${position}:${value}`);
        }
      }
      expect(undetected).toEqual([]);
    });

    it('through the file reader as well', async () => {
      const file = path.join(tempDir(), 'mutated.jsonl');
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: original.length - 1 }), fc.integer({ min: 1, max: 255 }), async (position, delta) => {
          const mutated = Buffer.from(original);
          mutated[position] = ((original[position] ?? 0) + delta) % 256;
          fs.writeFileSync(file, mutated);
          expect((await verifyAuditFile(file)).ok).toBe(false);
        }),
        { numRuns: 200 },
      );
    });
  });

  it('removing any line but the last, or swapping any two lines, is detected', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const trail = await openAuditTrail(file);
    for (let i = 0; i < 8; i++) await trail.append(sampleEntry(i));
    const lines = fs.readFileSync(file, 'utf8').slice(0, -1).split('\n');
    const join = (parts: string[]): string => `${parts.join('\n')}\n`;
    fc.assert(
      fc.property(fc.nat({ max: lines.length - 2 }), (index) => {
        const result = verifyAuditContent(join(lines.filter((_, i) => i !== index)));
        expect(result).toMatchObject({ ok: false, line: index + 1, problem: 'deleted' });
      }),
    );
    fc.assert(
      fc.property(fc.nat({ max: lines.length - 1 }), fc.nat({ max: lines.length - 1 }), (a, b) => {
        fc.pre(a !== b);
        const swapped = [...lines];
        [swapped[a], swapped[b]] = [lines[b] ?? '', lines[a] ?? ''];
        expect(verifyAuditContent(join(swapped))).toMatchObject({ ok: false, line: Math.min(a, b) + 1, problem: 'reordered' });
      }),
    );
  });
});
