import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Builds dist/ before any test runs when it is missing or older than what it is
 * built from, so e2e, resilience, load and package tests never spawn a stale
 * binary. When dist/ is fresh (as after `npm run build`, or for .ci/run's second
 * and third Node versions) nothing is rebuilt.
 */

const ROOT = resolve(import.meta.dirname, '../..');
/** What dist/ is built from: the sources, the bundler script and what fixes the bundled packages. */
const INPUTS = ['src', 'build.mjs', 'package.json', 'package-lock.json', 'tsconfig.json'];

function newestMtime(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), stat.mtimeMs);
}

/** Why dist/ must be rebuilt, or undefined when it is up to date. */
export function staleReason(root = ROOT): string | undefined {
  const built = statSync(join(root, 'dist', 'index.js'), { throwIfNoEntry: false });
  if (built === undefined) return 'dist/index.js is missing';
  const changed = INPUTS.find((input) => newestMtime(join(root, input)) > built.mtimeMs);
  return changed === undefined ? undefined : `${changed} changed after the last build`;
}

export default function setup(): void {
  const reason = staleReason();
  if (reason === undefined) return;
  process.stderr.write(`globalSetup: building dist/ (${reason})\n`);
  // npm from PATH: on .ci/run's other Node versions it is that version's npm, running that node.
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`npm run build failed (${result.error?.message ?? `exit ${String(result.status)}`}): no test may run an old dist/`);
}
