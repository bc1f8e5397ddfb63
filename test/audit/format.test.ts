import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runAuditCommand } from '../../src/cli/audit.js';
import { AUDIT_FORMAT_VERSION } from '../../src/audit/record.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { readLines, sampleEntry, tempDir } from './helpers.js';

// Written by release 0.1.0 (records without "v"): find_user, an unlock's intent
// and outcome, a denial and a failure. It must verify after every change.
const RELEASE_0_1_0 = fileURLToPath(new URL('./fixtures/trail-0.1.0.jsonl', import.meta.url));

describe('record format versions', () => {
  it('a trail written by release 0.1.0 still verifies', async () => {
    expect(await verifyAuditFile(RELEASE_0_1_0)).toMatchObject({ ok: true, records: 5 });
    const phases = readLines(RELEASE_0_1_0).map((line) => JSON.parse(line) as { v?: number; outcome?: string });
    expect(phases.every((record) => record.v === undefined)).toBe(true);
    expect(phases.map((record) => record.outcome)).toEqual(['found', undefined, 'unlocked', 'denied', 'failed']);
  });

  it('new records carry the format version, and continue a 0.1.0 trail into one chain that verifies', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.copyFileSync(RELEASE_0_1_0, file);
    fs.chmodSync(file, 0o600);
    const trail = await openAuditTrail(file);
    const record = await trail.append(sampleEntry(0));
    expect(record).toMatchObject({ v: AUDIT_FORMAT_VERSION, seq: 6 });
    expect(Object.keys(record)[0]).toBe('v');
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 6 });
  });

  it('fields added later (an HTTP operator, a password write) verify: the hash covers the record as written', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const trail = await openAuditTrail(file);
    const later = { ...sampleEntry(0), operatorIdentity: { issuer: 'https://idp.example.test', subject: 'op-7' }, password: { forceChange: true } };
    await trail.append(later);
    await trail.append(sampleEntry(1));
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 2 });
  });

  it('a record claiming an invalid version is malformed', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    const [line] = readLines(file);
    fs.writeFileSync(file, `${(line ?? '').replace(/"v":\d+/, '"v":"one"')}\n`);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: false, line: 1, problem: 'malformed' });
  });

  it('`audit show` displays the 0.1.0 trail without warnings', async () => {
    let stdout = '';
    let stderr = '';
    const code = await runAuditCommand(['show', RELEASE_0_1_0], {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
      defaultPath: () => RELEASE_0_1_0,
      now: () => new Date('2026-11-28T10:00:00.000Z'),
    });
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('5 records');
    expect(stdout).toContain('denied');
  });
});
