import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateAuditFile } from '../../src/audit/rotate.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { PostgresAuditSink } from '../../src/store/postgres/audit.js';
import { connect, type Sql } from '../../src/store/postgres/connect.js';
import { ENVIRONMENT_ID, sampleEntry } from '../audit/helpers-entry.js';
import { createTestDatabase, SKIP_HINT, testServer, type TestDatabase } from './support/database.js';

/** The built binary's `db` and `audit --database` commands (run `npm run build` first). */
const server = testServer();
if ('unavailable' in server) console.warn(`${SKIP_HINT} (${server.unavailable})`);
const BIN = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

/** A URL without its password; the password goes in PGPASSWORD, as the README advises. */
function split(url: string): { url: string; password: string } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return { url: parsed.href, password };
}

function cli(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the CLI with its stdout a pipe whose reader is already gone, as `… | head` that has quit. */
function cliIntoClosedPipe(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe.skipIf('unavailable' in server)('the CLI on a database', () => {
  let db: TestDatabase;
  let dir: string;
  const pools: Sql[] = [];

  beforeAll(async () => {
    db = await createTestDatabase((server as { url: string }).url, { migrate: false });
    dir = mkdtempSync(join(tmpdir(), 'pg-cli-'));
  });
  afterAll(async () => {
    await Promise.all(pools.map((sql) => sql.end()));
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrates with the owner URL and grants the runtime role; a second run applies nothing', () => {
    const first = cli(['db', 'migrate', '--grant', db.runtimeRole], { PINGONE_MCP_DATABASE_URL: db.ownerUrl });
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/schema pingone_mcp at version 1 \(applied version 1\)\ngranted the runtime privileges to pingone_mcp_runtime_\w+\n$/);
    expect(first.code).toBe(0);
    const again = cli(['db', 'migrate', '--database', db.ownerUrl]);
    expect(again.stdout).toMatch(/at version 1 \(already current, nothing applied\)/);
    expect(again.code).toBe(0);
  });

  it('the runtime role cannot migrate: exit 2 with the reason', () => {
    const { url, password } = split(db.runtimeUrl);
    const result = cli(['db', 'migrate', '--database', url], { PGPASSWORD: password });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^pingone-helpdesk-mcp db migrate: database 127\.0\.0\.1:\d+\/pingone_mcp_test_\w+: .*\(42501\)\n$/);
  });

  it('verifies, shows and exports a trail; `audit verify FILE` accepts the export', async () => {
    const sql = connect(db.runtimeUrl, { max: 2 });
    pools.push(sql);
    const sink = new PostgresAuditSink({ sql, key: { environmentId: ENVIRONMENT_ID, scope: 'tenant' }, location: 'test' });
    for (let i = 0; i < 8; i++) await sink.append(sampleEntry(i));
    const { url, password } = split(db.runtimeUrl);
    const env = { PGPASSWORD: password };

    const verified = cli(['audit', 'verify', '--database', url], env);
    expect(verified.stdout).toMatch(new RegExp(`^ok: 8 records, \\S+ … \\S+ \\(trail ${ENVIRONMENT_ID}/tenant in 127\\.0\\.0\\.1:\\d+/pingone_mcp_test_\\w+\\)\\n$`));
    expect(verified.code).toBe(0);

    const exported = cli(['audit', 'export', '--database', url, '--environment', ENVIRONMENT_ID], env);
    expect(exported.code).toBe(0);
    expect(exported.stdout.split('\n')).toHaveLength(9);
    const file = join(dir, 'trail.jsonl');
    writeFileSync(file, exported.stdout);
    const fileVerify = cli(['audit', 'verify', file]);
    expect(fileVerify.stdout).toMatch(/^ok: 8 records/);
    expect(fileVerify.code).toBe(0);

    const table = cli(['audit', 'show', '--database', url, '--user', 'user3@example.test'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('user3@example.test');
    expect(table.stdout).not.toContain('user4@example.test');
    expect(table.stdout).toMatch(/1 record, latest/);
    const json = cli(['audit', 'show', '--database', url, '--json'], env);
    expect(json.stdout).toBe(exported.stdout);

    // A reader that stops early (`audit export … | head -1`) is not an error, as for a file trail.
    const early = await cliIntoClosedPipe(['audit', 'export', '--database', url, '--environment', ENVIRONMENT_ID], env);
    expect(early.stderr).toBe('');
    expect(early.code).toBe(0);
  });

  it('exits 1 naming the record when a row was changed behind the trigger', async () => {
    const owner = postgres(db.ownerUrl, { max: 1, onnotice: () => {} });
    try {
      await owner.begin(async (tx) => {
        await tx`ALTER TABLE pingone_mcp.audit_records DISABLE TRIGGER audit_records_no_update_delete`;
        await tx`UPDATE pingone_mcp.audit_records SET line = replace(line, 'INC-1004', 'INC-9999') WHERE seq = 5`;
        await tx`ALTER TABLE pingone_mcp.audit_records ENABLE TRIGGER audit_records_no_update_delete`;
      });
    } finally {
      await owner.end();
    }
    const { url, password } = split(db.runtimeUrl);
    const result = cli(['audit', 'verify', '--database', url], { PGPASSWORD: password });
    expect(result.stdout).toMatch(/seq 5: record seq 5 was changed after it was written/);
    expect(result.code).toBe(1);
  });

  it('imports a file trail into an empty trail, and refuses a second import', async () => {
    const file = join(dir, 'audit.jsonl');
    const trail = await openAuditTrail(file);
    const other = '12345678-1234-4234-8234-123456789abc';
    for (let i = 0; i < 5; i++) await trail.append(sampleEntry(i, { target: { environmentId: other } }));
    const { url, password } = split(db.runtimeUrl);
    const env = { PGPASSWORD: password };
    const imported = cli(['db', 'import', file, '--database', url], env);
    expect(imported.stdout).toMatch(new RegExp(`^imported 5 records from .* into trail ${other}/tenant in `));
    expect(imported.code).toBe(0);
    const exported = cli(['audit', 'export', '--database', url, '--environment', other], env);
    expect(exported.stdout).toBe(readFileSync(file, 'utf8'));
    const twice = cli(['db', 'import', file, '--database', url], env);
    expect(twice.stderr).toMatch(/already holds 5 records: import only into an empty trail; nothing imported/);
    expect(twice.code).toBe(1);
  });

  it('refuses a file started by `audit rotate` with a sentence saying why and what to import instead', async () => {
    const file = join(dir, 'rotated.jsonl');
    const trail = await openAuditTrail(file);
    const other = '22345678-1234-4234-8234-123456789abc';
    for (let i = 0; i < 3; i++) await trail.append(sampleEntry(i, { target: { environmentId: other } }));
    const rotated = await rotateAuditFile(file);
    expect(rotated.kind).toBe('rotated');
    const continued = await openAuditTrail(file);
    await continued.append(sampleEntry(3, { target: { environmentId: other } }));
    expect(readFileSync(file, 'utf8')).toMatch(/^\{[^\n]*"phase":"continued"/);
    const { url, password } = split(db.runtimeUrl);
    const result = cli(['db', 'import', file, '--database', url, '--environment', other], { PGPASSWORD: password });
    expect(result.stderr).toMatch(/^pingone-helpdesk-mcp db import: .*rotated\.jsonl continues "rotated[^"]*" \(it was started by `audit rotate`\).*nothing imported: import the trail's first file/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.code).toBe(1);
    const exported = cli(['audit', 'export', '--database', url, '--environment', other], { PGPASSWORD: password });
    expect(exported.stdout).toBe('');
  });

  it('export asks which trail when the database holds several', () => {
    const { url, password } = split(db.runtimeUrl);
    const result = cli(['audit', 'export', '--database', url], { PGPASSWORD: password });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/holds several trails \(.*\): choose one with --environment ID/);
  });

  it('refuses to serve with a database but no shared confirmation key: one line, exit 2', () => {
    const result = cli(['--sandbox'], { PINGONE_MCP_DATABASE_URL: db.runtimeUrl });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^pingone-helpdesk-mcp: PINGONE_MCP_CONFIRM_KEY is not set: with PINGONE_MCP_DATABASE_URL every replica must share one confirmation key[^\n]*\n$/);
    expect(result.stderr).not.toContain(new URL(db.runtimeUrl).password);
    expect(result.stdout).toBe('');
  });
});
