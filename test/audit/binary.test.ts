// The built binary's audit start-up checks and CLI, as a person runs them
// (`npm run build` first; `npm test` builds).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleEntry, tempDir, writeTrail } from './helpers.js';
import { openAuditTrail } from '../../src/audit/trail.js';

const BIN = path.resolve(import.meta.dirname, '../../dist/index.js');
const posix = process.platform !== 'win32';
const isRoot = process.getuid?.() === 0;

/**
 * A copy of dist/ another user can read: a checkout in a private folder (mktemp -d is 0700) is out of reach
 * of the uid the no-home test switches to, which would fail for that reason and not the one under test.
 */
function binForAnyUser(): string {
  const dir = fs.mkdtempSync(path.join('/tmp', 'p1mcp-dist-'));
  fs.chmodSync(dir, 0o755);
  fs.cpSync(path.dirname(BIN), dir, { recursive: true });
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    fs.chmodSync(path.join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
  }
  return path.join(dir, path.basename(BIN));
}

function run(args: string[], env: Record<string, string>, options: { uid?: number; input?: string; bin?: string } = {}) {
  const result = spawnSync(process.execPath, [options.bin ?? BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 15_000,
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
  });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

describe('start-up edge cases exit 2 with one line naming the fix', () => {
  it.skipIf(process.platform !== 'linux')('an audit path under /proc', () => {
    const result = run(['--sandbox', '--audit-log', '/proc/self/pingone/audit.jsonl'], { HOME: tempDir() });
    expect(result.signal).toBeNull(); // no hang: the timeout would have killed it
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('proc virtual file system');
    expect(result.stderr).toContain('set PINGONE_MCP_AUDIT_LOG (or --audit-log)');
  });

  // A uid without a passwd entry needs root to switch to; CI runs as root.
  it.skipIf(!isRoot)('no HOME and no passwd entry: the server and the audit CLI', () => {
    const bin = binForAnyUser();
    for (const args of [['--sandbox'], ['audit', 'verify']]) {
      const result = run(args, {}, { uid: 54_321, bin });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).not.toContain('uv_os_homedir');
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain('No home directory is known for this user');
      expect(result.stderr).toContain('PINGONE_MCP_AUDIT_LOG');
    }
  });
});

describe('audit --sandbox', () => {
  it('show, verify and rotate read the trail `--sandbox` writes; without it, the tenant trail', async () => {
    const state = tempDir();
    const sandboxTrail = path.join(state, 'pingone-helpdesk-mcp', 'sandbox-audit.jsonl');
    await writeTrail(sandboxTrail, 3);
    const env = { HOME: tempDir(), XDG_STATE_HOME: state };

    const verify = run(['audit', 'verify', '--sandbox'], env);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`ok: 3 records`);
    expect(verify.stdout).toContain(`(${sandboxTrail})`);

    const show = run(['audit', 'show', '--sandbox', '--json'], env);
    expect(show.code).toBe(0);
    expect(show.stdout.trimEnd().split('\n')).toHaveLength(3);

    const tenant = run(['audit', 'verify'], env);
    expect(tenant.code).toBe(2);
    expect(tenant.stderr).toContain(path.join(state, 'pingone-helpdesk-mcp', 'audit.jsonl'));

    const rotate = run(['audit', 'rotate', '--sandbox'], env);
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(rotate.stdout).toContain(`${sandboxTrail} now continues its chain`);
  });

  it('says so when a database is configured but the command reads the file trail', async () => {
    const state = tempDir();
    await writeTrail(path.join(state, 'pingone-helpdesk-mcp', 'sandbox-audit.jsonl'), 2);
    const env = { HOME: tempDir(), XDG_STATE_HOME: state };
    const plain = run(['audit', 'verify', '--sandbox'], env);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');
    const withDatabase = run(['audit', 'verify', '--sandbox'], { ...env, PINGONE_MCP_DATABASE_URL: 'postgres://helpdesk@127.0.0.1:1/helpdesk' });
    expect(withDatabase.code).toBe(0);
    expect(withDatabase.stderr).toMatch(/^pingone-helpdesk-mcp: note: PINGONE_MCP_DATABASE_URL is set, but this reads the file trail; add --database env/);
    expect(withDatabase.stderr).not.toContain('127.0.0.1:1');
  });
});

describe.skipIf(!posix)('stdout closed early', () => {
  it('`audit show --json | head -1` ends quietly with exit 0', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    // Far more than a pipe holds, so the writer is still writing when head exits.
    const trail = await openAuditTrail(file);
    for (let i = 0; i < 400; i++) await Promise.all(Array.from({ length: 5 }, (_, j) => trail.append(sampleEntry(i * 5 + j))));
    expect(fs.statSync(file).size).toBeGreaterThan(1024 * 1024);
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = spawnSync('bash', ['-c', `"$0" "$1" audit show --json "$2" | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`, process.execPath, BIN, file], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
      expect(JSON.parse(result.stdout)).toMatchObject({ seq: 1 });
      expect(result.stderr).toBe('exit=0\n');
    }
  }, 60_000);
});
