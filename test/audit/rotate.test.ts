import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildContinuation, computeRecordHash, serializeRecord } from '../../src/audit/chain.js';
import { takeLock } from '../../src/audit/lock.js';
import { AUDIT_FORMAT_VERSION } from '../../src/audit/record.js';
import { runAuditCommand } from '../../src/cli/audit.js';
import { rotateAuditFile } from '../../src/audit/rotate.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { readLines, sampleEntry, tempDir, writeLines, writeTrail } from './helpers.js';

const NOW = new Date('2026-11-29T03:41:07.123Z');

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runAuditCommand(args, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    defaultPath: () => '/nonexistent/audit.jsonl',
    now: () => NOW,
  });
  return { code, stdout, stderr };
}

async function rotatedTrail(): Promise<{ file: string; kept: string }> {
  const file = path.join(tempDir(), 'audit.jsonl');
  await writeTrail(file, 4);
  const result = await rotateAuditFile(file, () => NOW);
  if (result.kind !== 'rotated') throw new Error(`not rotated: ${result.kind}`);
  return { file, kept: result.kept };
}

describe('audit rotate', () => {
  it('keeps the old file under a timestamp and starts a new one whose first record continues its chain', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    await writeTrail(file, 4);
    const before = fs.readFileSync(file);
    const last = JSON.parse(readLines(file)[3] ?? '') as { seq: number; hash: string };

    const { code, stdout } = await run(['rotate', file]);
    expect(code).toBe(0);
    const kept = path.join(path.dirname(file), 'audit.2026-11-29T03-41-07Z.jsonl');
    expect(stdout).toBe(`rotated: 4 records kept in ${kept}; ${file} now continues its chain\n`);
    expect(fs.readFileSync(kept).equals(before)).toBe(true);

    const lines = readLines(file);
    expect(lines).toHaveLength(1);
    const first = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(first).toMatchObject({
      v: AUDIT_FORMAT_VERSION,
      seq: 5,
      phase: 'continued',
      continues: { file: 'audit.2026-11-29T03-41-07Z.jsonl', seq: 4, hash: last.hash },
      prevHash: last.hash,
    });
    if (process.platform !== 'win32') expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('verify accepts the new file alone, and given both files checks the link', async () => {
    const { file, kept } = await rotatedTrail();
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 1 });
    const both = await run(['verify', kept, file]);
    expect(both.code).toBe(0);
    expect(both.stdout).toContain(`ok: 4 records`);
    expect(both.stdout).toContain(`continues ${path.basename(kept)} at seq 4 (${file})`);
  });

  it('verify reports files given in the wrong order, or a previous file that was cut', async () => {
    const { file, kept } = await rotatedTrail();
    const swapped = await run(['verify', file, kept]);
    expect(swapped.code).toBe(1);
    expect(swapped.stdout).toContain('broken-link');

    // The last record of the previous file removed: both files verify alone, the link does not.
    writeLines(kept, readLines(kept).slice(0, 3));
    expect(await verifyAuditFile(kept)).toMatchObject({ ok: true, records: 3 });
    const cut = await run(['verify', kept, file]);
    expect(cut.code).toBe(1);
    expect(cut.stdout).toContain(`line 1 broken-link: the first record continues seq 4`);
  });

  it('a forged continuation record (link edited and re-signed to another hash) fails alone', async () => {
    const { file } = await rotatedTrail();
    const record = JSON.parse(readLines(file)[0] ?? '') as Record<string, unknown>;
    (record.continues as Record<string, unknown>).hash = 'f'.repeat(64);
    record.hash = computeRecordHash(record);
    writeLines(file, [serializeRecord(record)]);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: false, line: 1, problem: 'broken-link' });
  });

  it('a running trail carries on in the new file, and the two files verify end to end', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const trail = await openAuditTrail(file);
    for (let i = 0; i < 3; i++) await trail.append(sampleEntry(i));
    const result = await rotateAuditFile(file, () => NOW);
    expect(result.kind).toBe('rotated');
    const next = await trail.append(sampleEntry(3));
    expect(next.seq).toBe(5);
    expect(trail.status().state).toBe('ready');
    const kept = result.kind === 'rotated' ? result.kept : '';
    const { code, stdout } = await run(['verify', kept, file]);
    expect(code, stdout).toBe(0);
  });

  it('refuses a trail that does not verify, and moves nothing', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    await writeTrail(file, 3);
    fs.appendFileSync(file, '{"half');
    const before = fs.readdirSync(path.dirname(file));
    const { code, stdout } = await run(['rotate', file]);
    expect(code).toBe(1);
    expect(stdout).toContain('not rotated, line 4 truncated');
    expect(fs.readdirSync(path.dirname(file))).toEqual(before);
  });

  it('an interrupted earlier rotation is named, and nothing is moved', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    await writeTrail(file, 2);
    fs.writeFileSync(`${file}.rotating`, '');
    const before = fs.readdirSync(path.dirname(file)).sort();
    const { code, stderr } = await run(['rotate', file]);
    expect(code).toBe(2);
    expect(stderr).toBe(`audit trail ${file}: cannot rotate it: ${file}.rotating exists: an earlier rotation was interrupted; check and remove it, then run again\n`);
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(before);
  });

  it('an empty trail has nothing to rotate; a missing one is an error', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.writeFileSync(file, '');
    expect(await run(['rotate', file])).toMatchObject({ code: 0, stdout: `audit trail ${file}: empty, nothing to rotate\n` });
    const missing = await run(['rotate', path.join(tempDir(), 'missing.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file or directory (ENOENT)');
  });

  it('`audit show` lists the continuation as a row naming the previous file', async () => {
    const { file, kept } = await rotatedTrail();
    const { code, stdout, stderr } = await run(['show', file]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('(audit rotate)');
    expect(stdout).toContain(`continues ${path.basename(kept).slice(0, 20)}`);
  });
});

describe('a server starting while audit rotate runs', () => {
  // Between its link (the kept name) and its rename (the new file in place), a rotation leaves the trail
  // with two names, under the lock. A server starting then (the server opens its trail without the lock)
  // must not take that for a hard-linked trail and refuse to record for the rest of its life.
  it('is not refused for the kept name the rotation is about to finish with, and follows the rotation', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    await writeTrail(file, 3);
    const end = await verifyAuditFile(file);
    if (!end.ok) throw new Error('the trail does not verify');
    // rotate's steps, under the lock as rotate takes them.
    const lock = await takeLock(fs.realpathSync(file));
    fs.linkSync(file, path.join(dir, 'audit.kept.jsonl'));
    const trail = await openAuditTrail(file, { verifyTail: 'first-append' });
    expect(trail.status()).toMatchObject({ state: 'ready' });
    const first = buildContinuation('audit.kept.jsonl', end.last, { osUser: 'op', host: 'h' }, new Date().toISOString());
    fs.writeFileSync(`${file}.rotating`, `${serializeRecord(first)}\n`, { mode: 0o600 });
    fs.renameSync(`${file}.rotating`, file);
    lock.idle();
    await lock.release();
    expect((await trail.append(sampleEntry(3))).seq).toBe(5);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 2 });
  });

  it('a trail that really has two names is still refused, at the first append, under the lock', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    await writeTrail(file, 2);
    fs.linkSync(file, path.join(dir, 'other-name.jsonl'));
    const trail = await openAuditTrail(file, { verifyTail: 'first-append' });
    await expect(trail.append(sampleEntry(2))).rejects.toThrow(/has 2 names/);
    expect(readLines(file)).toHaveLength(2);
    const opened = await openAuditTrail(file);
    expect(opened.status()).toMatchObject({ state: 'broken', reason: expect.stringMatching(/has 2 names/) });
  });
});
