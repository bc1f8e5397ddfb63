import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach } from 'vitest';
import { openAuditTrail } from '../../src/audit/trail.js';
import { sampleEntry } from './helpers-entry.js';

export { ENVIRONMENT_ID, sampleEntry } from './helpers-entry.js';

const created: string[] = [];

/** A fresh temporary directory, removed after the test. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-test-'));
  created.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of created.splice(0)) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A trail file with `count` records, written through the real trail. */
export async function writeTrail(file: string, count: number, now?: () => Date): Promise<void> {
  const trail = await openAuditTrail(file, now === undefined ? {} : { now });
  for (let i = 0; i < count; i++) await trail.append(sampleEntry(i));
  // A caller is answered once its record is durable; the lock is released just behind.
  await trail.whenIdle();
}

/** The file's lines without the final newline. */
export function readLines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
}

export function writeLines(file: string, lines: readonly string[]): void {
  fs.writeFileSync(file, lines.map((line) => `${line}\n`).join(''));
}

/** The lock's text once its holder has written it (the text lands just after the exclusive create). */
export async function writtenText(lockPath: string): Promise<string> {
  // Counted, not timed by the wall clock, which may step.
  for (let i = 0; ; i++) {
    const text = fs.readFileSync(lockPath, 'utf8');
    if (text !== '' || i === 1_000) return text;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A clock that starts at `start` and moves `stepMs` per call. */
export function steppingClock(start = '2026-11-01T10:00:00.000Z', stepMs = 60_000): () => Date {
  let t = Date.parse(start);
  return () => {
    const d = new Date(t);
    t += stepMs;
    return d;
  };
}
