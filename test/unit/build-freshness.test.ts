import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { staleReason } from '../support/globalSetup.js';

/** A project tree whose files all carry the given time (seconds since the epoch). */
function project(at: number): string {
  const root = mkdtempSync(join(tmpdir(), 'p1mcp-fresh-'));
  for (const file of ['src/pingone/client.ts', 'build.mjs', 'package.json', 'package-lock.json', 'tsconfig.json', 'dist/index.js']) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), '');
    utimesSync(join(root, file), at, at);
  }
  for (const dir of ['src/pingone', 'src', 'dist']) utimesSync(join(root, dir), at, at);
  return root;
}

const T = 1_700_000_000;

describe('the test run rebuilds dist/ exactly when it is stale', () => {
  it('leaves a dist/ built after every input alone', () => {
    const root = project(T);
    utimesSync(join(root, 'dist/index.js'), T + 10, T + 10);
    expect(staleReason(root)).toBeUndefined();
  });

  it('rebuilds when dist/index.js is missing', () => {
    const root = mkdtempSync(join(tmpdir(), 'p1mcp-fresh-'));
    expect(staleReason(root)).toBe('dist/index.js is missing');
  });

  it.each(['src/pingone/client.ts', 'build.mjs', 'package.json', 'package-lock.json', 'tsconfig.json'])('rebuilds when %s changed after the build', (file) => {
    const root = project(T);
    utimesSync(join(root, file), T + 10, T + 10);
    expect(staleReason(root)).toBe(`${file.split('/')[0]} changed after the last build`);
  });

  it('rebuilds when a source file was added deep in src/', () => {
    const root = project(T);
    mkdirSync(join(root, 'src/new'), { recursive: true });
    writeFileSync(join(root, 'src/new/tool.ts'), '');
    expect(staleReason(root)).toBe('src changed after the last build');
  });
});
