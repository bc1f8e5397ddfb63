import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditTrail } from '../../src/audit/trail.js';
import { verifyAuditContent, verifyAuditFile } from '../../src/audit/verify.js';
import { PostgresAuditSink, type TrailKey } from '../../src/store/postgres/audit.js';
import { connect, type Sql } from '../../src/store/postgres/connect.js';
import { importTrail, listTrails, trailRows, TrailImportError, verifyTrail } from '../../src/store/postgres/trails.js';
import { ENVIRONMENT_ID, sampleEntry } from '../audit/helpers-entry.js';
import { createTestDatabase, SKIP_HINT, testServer, type TestDatabase } from './support/database.js';

const server = testServer();
const fixture = fileURLToPath(new URL('./fixtures/append-many.ts', import.meta.url));
const killFixture = fileURLToPath(new URL('./fixtures/append-forever.ts', import.meta.url));
const TENANT: TrailKey = { environmentId: ENVIRONMENT_ID, scope: 'tenant' };

if ('unavailable' in server) console.warn(`${SKIP_HINT} (${server.unavailable})`);

async function exportLines(sql: Sql, key: TrailKey): Promise<string[]> {
  const lines: string[] = [];
  for await (const row of trailRows(sql, key)) lines.push(row.line);
  return lines;
}

function runChild(url: string, count: number, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, url, String(count), label], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => (code === 0 && output.includes('done') ? resolve() : reject(new Error(`child ${label} exited ${code}: ${output}`))));
  });
}

describe.skipIf('unavailable' in server)('the audit trail in PostgreSQL', () => {
  let db: TestDatabase;
  const pools: Sql[] = [];
  const pool = (): Sql => {
    const sql = connect(db.runtimeUrl, { max: 5 });
    pools.push(sql);
    return sql;
  };

  beforeAll(async () => {
    db = await createTestDatabase((server as { url: string }).url);
  });
  afterAll(async () => {
    await Promise.all(pools.map((sql) => sql.end()));
    await db?.drop();
  });

  it('keeps one dense, verifying chain under 200 concurrent appends from three pools and two processes', async () => {
    const sinks = [pool(), pool(), pool()].map((sql) => new PostgresAuditSink({ sql, key: TENANT, location: 'test' }));
    const inProcess = sinks.flatMap((sink, s) => Array.from({ length: 50 }, (_, i) => sink.append(sampleEntry(i, { auditId: `pool${s}-${i}` }))));
    const [records] = await Promise.all([Promise.all(inProcess), runChild(db.runtimeUrl, 25, 'childA'), runChild(db.runtimeUrl, 25, 'childB')]);

    // What each append returned is what was stored, and no two share a place.
    expect(new Set(records.map((r) => r.seq)).size).toBe(150);
    const sql = pool();
    const seqs = (await sql<{ seq: string }[]>`SELECT seq FROM pingone_mcp.audit_records ORDER BY seq`).map((r) => Number(r.seq));
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(await verifyTrail(sql, TENANT)).toMatchObject({ ok: true, records: 200 });

    // The export is a file trail that the file verifier accepts, with every record present.
    const lines = await exportLines(sql, TENANT);
    expect(verifyAuditContent(`${lines.join('\n')}\n`)).toMatchObject({ ok: true, records: 200 });
    const ids = new Set(lines.map((line) => (JSON.parse(line) as { auditId: string }).auditId));
    for (const label of ['pool0', 'pool1', 'pool2']) for (let i = 0; i < 50; i++) expect(ids).toContain(`${label}-${i}`);
    for (const label of ['childA', 'childB']) for (let i = 0; i < 25; i++) expect(ids).toContain(`${label}-${i}`);
  }, 60_000);

  it('keeps a verifying chain when a replica is killed (SIGKILL) in the middle of its appends', async () => {
    const sql = pool();
    const before = (await verifyTrail(sql, TENANT)).ok ? await exportLines(sql, TENANT) : [];
    const child = spawn(process.execPath, ['--import', 'tsx', killFixture, db.runtimeUrl], { stdio: ['ignore', 'pipe', 'pipe'] });
    const survivor = new PostgresAuditSink({ sql, key: TENANT, location: 'test' });
    // Wait until the child is appending, then keep appending beside it and kill it mid-stream.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (/appended (2\d|[3-9]\d)/.test(chunk.toString())) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the child ended by itself (${code})`)));
    });
    const beside = Promise.all(Array.from({ length: 20 }, (_, i) => survivor.append(sampleEntry(i, { auditId: `survivor-${i}` }))));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    await beside;
    // The killed replica's open transaction is rolled back and its lock freed: appends go on.
    const after = await survivor.append(sampleEntry(0, { auditId: 'after-the-kill' }));
    const result = await verifyTrail(sql, TENANT);
    expect(result).toMatchObject({ ok: true, records: after.seq });
    const lines = await exportLines(sql, TENANT);
    expect(lines.slice(0, before.length)).toEqual(before);
    expect(verifyAuditContent(`${lines.join('\n')}\n`)).toMatchObject({ ok: true, records: after.seq });
    expect(lines.filter((line) => line.includes('"killed-')).length).toBeGreaterThanOrEqual(20);
  }, 60_000);

  it('keys trails apart: a sandbox, a tenant and another environment each have their own chain', async () => {
    const sql = pool();
    const other = '0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d';
    const keys: TrailKey[] = [
      { environmentId: other, scope: 'tenant' },
      { environmentId: other, scope: 'sandbox' },
      { environmentId: '11111111-2222-4333-8444-555555555555', scope: 'tenant' },
    ];
    for (const [k, key] of keys.entries()) {
      const sink = new PostgresAuditSink({ sql, key, location: 'test' });
      for (let i = 0; i < 3 + k; i++) {
        const record = await sink.append(sampleEntry(i, { target: { environmentId: key.environmentId } }));
        expect(record.seq).toBe(i + 1);
      }
    }
    for (const [k, key] of keys.entries()) expect(await verifyTrail(sql, key)).toMatchObject({ ok: true, records: 3 + k });
    const trails = await listTrails(sql);
    expect(trails.map((t) => `${t.key.environmentId}/${t.key.scope}:${t.records}`)).toEqual(
      expect.arrayContaining([`${other}/tenant:3`, `${other}/sandbox:4`, `11111111-2222-4333-8444-555555555555/tenant:5`]),
    );
  });

  it('exports a trail that `audit verify` accepts as a file, and reports a deleted row', async () => {
    const sql = pool();
    const dir = mkdtempSync(join(tmpdir(), 'pg-export-'));
    const lines = await exportLines(sql, TENANT);
    expect(lines.length).toBeGreaterThan(200);
    try {
      const file = join(dir, 'trail.jsonl');
      writeFileSync(file, `${lines.join('\n')}\n`);
      expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: lines.length });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Only someone able to turn the append-only trigger off can remove a row; verify then names the gap.
    const owner = postgres(db.ownerUrl, { max: 1, onnotice: () => {} });
    try {
      await owner.begin(async (tx) => {
        await tx`ALTER TABLE pingone_mcp.audit_records DISABLE TRIGGER audit_records_no_update_delete`;
        await tx`DELETE FROM pingone_mcp.audit_records WHERE environment_id = ${ENVIRONMENT_ID} AND scope = 'tenant' AND seq = 100`;
        const result = await verifyTrail(tx as unknown as Sql, TENANT);
        expect(result).toMatchObject({ ok: false, seq: 101 });
        expect(result.ok === false && result.message).toMatch(/seq 100 missing/);
        throw new Error('roll back');
      }).catch((err: Error) => {
        if (err.message !== 'roll back') throw err;
      });
    } finally {
      await owner.end();
    }
    expect(await verifyTrail(sql, TENANT)).toMatchObject({ ok: true, records: lines.length });
  });

  it('imports a file trail into an empty trail with its chain intact, and appends continue it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-import-'));
    try {
      const file = join(dir, 'audit.jsonl');
      const trail = await openAuditTrail(file);
      for (let i = 0; i < 6; i++) await trail.append(sampleEntry(i));
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      const key: TrailKey = { environmentId: '99999999-8888-4777-8666-555555555555', scope: 'tenant' };
      const sql = pool();
      expect(await importTrail(sql, key, lines)).toBe(6);
      expect(await exportLines(sql, key)).toEqual(lines);

      const next = await new PostgresAuditSink({ sql, key, location: 'test' }).append(sampleEntry(6));
      expect(next.seq).toBe(7);
      expect(next.prevHash).toBe((JSON.parse(lines[5] ?? '{}') as { hash: string }).hash);
      expect(await verifyTrail(sql, key)).toMatchObject({ ok: true, records: 7 });
      await expect(importTrail(sql, key, lines)).rejects.toThrow(TrailImportError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to import a file whose chain is broken, and stores nothing of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-import-'));
    try {
      const file = join(dir, 'audit.jsonl');
      const trail = await openAuditTrail(file);
      for (let i = 0; i < 4; i++) await trail.append(sampleEntry(i));
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      const key: TrailKey = { environmentId: '77777777-8888-4777-8666-555555555555', scope: 'tenant' };
      const sql = pool();
      await expect(importTrail(sql, key, [lines[0] ?? '', lines[2] ?? ''])).rejects.toThrow(/does not continue the trail/);
      expect(await verifyTrail(sql, key)).toMatchObject({ ok: true, records: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
