import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.js';
import { connect, type Sql } from '../../src/store/postgres/connect.js';
import { trailRows } from '../../src/store/postgres/trails.js';
import { SANDBOX_ENVIRONMENT_ID } from '../../src/sandbox/seed.js';
import { createTestDatabase, SKIP_HINT, testServer, type TestDatabase } from './support/database.js';

/**
 * The built binary (run `npm run build` first) chooses the PostgreSQL stores
 * when PINGONE_MCP_DATABASE_URL is set: its calls land in the database chain,
 * and a database it cannot start on ends it with one line and exit 2.
 */
const server = testServer();
if ('unavailable' in server) console.warn(`${SKIP_HINT} (${server.unavailable})`);
const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const BIN = join(DIST, 'index.js');
const CONFIRM_KEY = randomBytes(32).toString('base64');

function baseEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PINGONE_MCP_LOG_LEVEL: 'warn', ...extra };
}

/** The binary in sandbox mode on stdio until it exits by itself (it should: the database refuses it). */
function startRefused(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, '--sandbox'], { env: baseEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    // A server that started anyway would wait on stdin: give up after a while and say so.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the built bundle without a database', () => {
  it('never loads the PostgreSQL driver on the way to serving: it sits behind a dynamic import', () => {
    const chunks = join(DIST, 'chunks');
    const files = readdirSync(chunks).filter((name) => name.endsWith('.js'));
    const driver = files.filter((name) => readFileSync(join(chunks, name), 'utf8').includes('PostgresError'));
    expect(driver.length).toBeGreaterThan(0);
    // Every chunk the entry and the serve chunk load statically, transitively.
    const serveChunk = files.find((name) => readFileSync(join(chunks, name), 'utf8').includes('serving MCP on stdio'));
    expect(serveChunk).toBeDefined();
    const loaded = new Set<string>();
    const pending = [serveChunk!];
    while (pending.length > 0) {
      const name = pending.pop()!;
      if (loaded.has(name)) continue;
      loaded.add(name);
      const text = readFileSync(join(chunks, name), 'utf8');
      for (const found of text.matchAll(/(?:^|[;\s}])import\s*(?:[^"'();]*?from\s*)?["']\.\/([^"']+\.js)["']/g)) pending.push(found[1]!);
    }
    expect(loaded.size).toBeGreaterThan(3);
    for (const name of driver) expect(loaded.has(name), `${name} (the driver) is loaded statically by serve`).toBe(false);
  });
});

describe.skipIf('unavailable' in server)('the built binary with a database', () => {
  let db: TestDatabase;
  let behind: TestDatabase;
  let sql: Sql;
  beforeAll(async () => {
    const adminUrl = (server as { url: string }).url;
    [db, behind] = await Promise.all([createTestDatabase(adminUrl), createTestDatabase(adminUrl, { migrate: false })]);
    sql = connect(db.runtimeUrl, { max: 2 });
  });
  afterAll(async () => {
    await sql?.end();
    await Promise.all([db?.drop(), behind?.drop()]);
  });

  it('records a stdio call in the database chain, and `audit verify --database` passes', async () => {
    const client = new Client({ name: 'pg-serve-test', version: '1.0.0' });
    let stderr = '';
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, '--sandbox'],
      env: baseEnv({ PINGONE_MCP_DATABASE_URL: db.runtimeUrl, PINGONE_MCP_CONFIRM_KEY: CONFIRM_KEY, PINGONE_MCP_CONFIRM: 'never', PINGONE_MCP_LOG_LEVEL: 'info' }),
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    await client.connect(transport);
    try {
      const result = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'PG-1' } });
      expect(result.isError, JSON.stringify(result)).toBeFalsy();
      expect(result.structuredContent).toMatchObject({ outcome: 'unlocked', sandbox: true });
    } finally {
      await client.close();
    }
    expect(stderr).toContain('kept in PostgreSQL');
    expect(stderr).not.toContain(new URL(db.runtimeUrl).password);

    const records: AuditRecord[] = [];
    for await (const row of trailRows(sql, { environmentId: SANDBOX_ENVIRONMENT_ID.toLowerCase(), scope: 'sandbox' })) records.push(JSON.parse(row.line) as AuditRecord);
    expect(records.map((r) => [r.seq, r.tool, r.phase, r.outcome])).toEqual([
      [1, 'unlock_user', 'intent', undefined],
      [2, 'unlock_user', 'outcome', 'unlocked'],
    ]);
    const verify = spawnSync(process.execPath, [BIN, 'audit', 'verify', '--database', db.runtimeUrl, '--sandbox'], { env: baseEnv({}), encoding: 'utf8' });
    expect(verify.stdout).toMatch(/^ok: 2 records/);
    expect(verify.status, verify.stderr).toBe(0);
  });

  it('refuses to start on a schema behind this build: one line naming `db migrate`, exit 2', async () => {
    const result = await startRefused({ PINGONE_MCP_DATABASE_URL: behind.runtimeUrl, PINGONE_MCP_CONFIRM_KEY: CONFIRM_KEY });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^pingone-helpdesk-mcp: database 127\.0\.0\.1:\d+\/pingone_mcp_test_\w+: .*db migrate/);
    expect(result.stderr).not.toContain(new URL(behind.runtimeUrl).password);
    expect(result.stdout).toBe('');
  });

  it('refuses to start on a database it cannot reach: one line, exit 2', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused.
    const unreachable = new URL(db.runtimeUrl);
    unreachable.port = '1';
    const result = await startRefused({ PINGONE_MCP_DATABASE_URL: unreachable.href, PINGONE_MCP_CONFIRM_KEY: CONFIRM_KEY });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^pingone-helpdesk-mcp: database 127\.0\.0\.1:1\/pingone_mcp_test_\w+: cannot start on it: .*unreachable/);
    expect(result.stderr).not.toContain(unreachable.password);
    expect(result.stdout).toBe('');
  });
});
