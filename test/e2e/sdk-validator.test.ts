import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chunksHolding } from '../support/chunks.js';

/**
 * The SDK's JSON Schema validator (Ajv) is not loaded with the SDK in the bundle: build.mjs bundles
 * it on its own into dist/chunks/ajv.cjs, and src/sdkShims.ts loads it at its first check (a form
 * question's answer asked with `ctx.elicitInput`). A server made from the built SDK chunk asks real
 * questions of a real client here. `npm test` builds dist/ first.
 */

const DIST = resolve(import.meta.dirname, '../../dist');
const FIXTURE = resolve(import.meta.dirname, 'fixtures/sdk-validator.mjs');
const work = mkdtempSync(join(tmpdir(), 'p1mcp-validator-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Asked {
  before: string[];
  after: string[];
  results: Array<{ content: Array<{ text: string }>; isError?: boolean }>;
}

/** Runs the fixture against the McpServer of the build in `dist`, with the client giving `answers` in turn. */
function ask(dist: string, answers: object[]): Asked {
  const [sdkChunk] = chunksHolding(dist, 'McpServer=class');
  expect(sdkChunk).toBeDefined();
  const run = spawnSync(process.execPath, [FIXTURE, sdkChunk!, JSON.stringify(answers)], { encoding: 'utf8', timeout: 30_000 });
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as Asked;
}

describe("the bundle's JSON Schema validator", () => {
  it('loads at the first answer it checks, accepts an answer that matches the schema and refuses one that does not', () => {
    const { before, after, results } = ask(DIST, [{ ticket: 'INC123' }, { ticket: 'not a ticket' }, { other: 1 }]);
    expect(before).toEqual([]);
    expect(after).toEqual([join(DIST, 'chunks', 'ajv.cjs')]);
    expect(results.map((result) => result.content[0]?.text)).toEqual([
      'accepted {"ticket":"INC123"}',
      'refused: Elicitation response content does not match requested schema: data/ticket must match pattern "^INC[0-9]+$"',
      "refused: Elicitation response content does not match requested schema: data must have required property 'ticket'",
    ]);
  });

  it('refuses every answer, rather than accepting it unchecked, when its file is gone', () => {
    // A package removed or an npx cache cleaned under a running server.
    const dist = join(work, 'dist');
    cpSync(DIST, dist, { recursive: true });
    rmSync(join(dist, 'chunks', 'ajv.cjs'));
    const { results } = ask(dist, [{ ticket: 'INC123' }]);
    expect(results).toHaveLength(1);
    expect(results[0]?.isError).toBe(true);
    expect(results[0]?.content[0]?.text).toMatch(/^refused: Error validating elicitation response: Cannot find module '\.\/ajv\.cjs'/);
  });

  it('refuses every answer, rather than accepting it unchecked, when its file is cut short or throws as it loads', () => {
    // An upgrade writing the file under a running server: half of it, then a file that throws as it loads.
    const dist = join(work, 'dist-damaged');
    cpSync(DIST, dist, { recursive: true });
    const file = join(dist, 'chunks', 'ajv.cjs');
    const whole = readFileSync(file, 'utf8');
    writeFileSync(file, whole.slice(0, whole.length / 2));
    expect(ask(dist, [{ ticket: 'INC123' }, { ticket: 'not a ticket' }]).results.map((result) => [result.isError, result.content[0]?.text])).toEqual([
      [true, 'refused: Error validating elicitation response: Unexpected end of input'],
      [true, 'refused: Error validating elicitation response: Unexpected end of input'],
    ]);
    writeFileSync(file, "throw new Error('half-installed');");
    expect(ask(dist, [{ ticket: 'INC123' }]).results.map((result) => result.content[0]?.text)).toEqual(['refused: Error validating elicitation response: half-installed']);
  });
});
