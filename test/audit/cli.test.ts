import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAuditCommand } from '../../src/cli/audit.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { buildContinuation, serializeRecord } from '../../src/audit/chain.js';
import { readLines, sampleEntry, steppingClock, tempDir, writeLines } from './helpers.js';

async function run(args: string[], defaultPath: string | ((sandbox: boolean) => string), now = new Date('2026-11-02T10:00:00.000Z')) {
  let stdout = '';
  let stderr = '';
  const code = await runAuditCommand(args, {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    defaultPath: typeof defaultPath === 'string' ? () => defaultPath : defaultPath,
    now: () => now,
  });
  return { code, stdout, stderr };
}

/** 6 records from 2026-11-01T10:00Z, one per hour; users user0…user5. */
async function trailFile(): Promise<string> {
  const file = path.join(tempDir(), 'audit.jsonl');
  const trail = await openAuditTrail(file, { now: steppingClock('2026-11-01T10:00:00.000Z', 3_600_000) });
  for (let i = 0; i < 6; i++) await trail.append(sampleEntry(i));
  return file;
}

describe('audit verify', () => {
  it('exit 0 and one line for an intact trail (default path)', async () => {
    const file = await trailFile();
    const result = await run(['verify'], file);
    expect(result).toEqual({
      code: 0,
      stdout: `ok: 6 records, 2026-11-01T10:00:00.000Z … 2026-11-01T15:00:00.000Z (${file})\n`,
      stderr: '',
    });
  });

  it('exit 1 naming the line and the problem', async () => {
    const file = await trailFile();
    const lines = readLines(file);
    lines[3] = (lines[3] ?? '').replace('INC-1003', 'INC-0000');
    writeLines(file, lines);
    const result = await run(['verify', file], '/nonexistent/default.jsonl');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^audit trail ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: line 4 edited: .+\\n$`));
  });

  it('exit 2 with a clear line for a missing file, and no stack trace', async () => {
    const missing = path.join(tempDir(), 'missing.jsonl');
    const result = await run(['verify', missing], '/x');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`audit trail ${missing}: no such file (nothing has been recorded there yet, or the path is wrong)\n`);
    expect(result.stderr).not.toContain('    at ');
  });

  it.skipIf(process.platform === 'win32')('exit 2 for a FIFO, at once: nothing waits for a writer', async () => {
    const fifo = path.join(tempDir(), 'audit.jsonl');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const result = await Promise.race([run(['verify', fifo], '/x'), new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000))]);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining('not a regular file') });
  }, 30_000);

  it('exit 2 for a directory', async () => {
    const dir = tempDir();
    const result = await run(['verify', dir], '/x');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('(EISDIR)');
  });
});

describe('audit verify: the file a rotated trail names', () => {
  // The name is read from the first record of the file, so whoever can write the file chooses it.
  const hostile = 'audit.jsonl.1\u001b]0;owned\u0007\u001b[2J\u202e';

  function rotatedLike(file: string, continues: string, last: { seq: number; hash: string }): void {
    const first = buildContinuation(continues, last, { osUser: 'ops', host: 'h' }, '2026-11-01T10:00:00.000Z');
    writeLines(file, [serializeRecord(first)]);
  }

  it('ok line: the name is shown as text, never sent to the terminal raw', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    rotatedLike(file, hostile, { seq: 3, hash: 'a'.repeat(64) });
    const result = await run(['verify', file], '/x');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('continues audit.jsonl.1␛]0;owned␇␛[2J\\u202e at seq 3');
    expect(result.stdout).not.toMatch(/[\u001b\u0007\u202e]/);
  });

  it('broken-link line for OLD NEW: the same', async () => {
    const old = await trailFile();
    const file = path.join(tempDir(), 'audit.jsonl');
    rotatedLike(file, hostile, { seq: 2, hash: 'b'.repeat(64) });
    const result = await run(['verify', old, file], '/x');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('broken-link');
    expect(result.stdout).not.toMatch(/[\u001b\u0007\u202e]/);
  });
});

describe('audit show', () => {
  it('prints a table with users, tools and outcomes', async () => {
    const file = await trailFile();
    const { code, stdout, stderr } = await run(['show', file], '/x');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+OPERATOR\/CLIENT\s+TOOL\s+TARGET\s+OUTCOME\s+REASON\s+PINGONE CORRELATION$/);
    expect(lines).toHaveLength(1 + 6 + 1);
    expect(stdout).toContain('user0@example.test');
    expect(stdout).toContain('user3@example.test SMS d0000003…');
    expect(stdout).toContain('unlocked (200)');
    expect(stdout).toContain('intent');
    expect(stdout).toContain('Dana Operator via claude-ai');
    expect(lines.at(-1)).toBe('6 records, latest 19h 0m ago');
  });

  it('--user matches the username or the userId, ignoring case', async () => {
    const file = await trailFile();
    const byName = await run(['show', file, '--user', 'USER2@EXAMPLE.TEST'], '/x');
    expect(byName.stdout).toContain('user2@example.test');
    expect(byName.stdout).not.toContain('user1@example.test');
    expect(byName.stdout).toContain('1 record,');
    const byId = await run(['show', '--user', '00000004-1111-4222-8333-444455556666', file], '/x');
    expect(byId.stdout).toContain('user4@example.test');
    expect(byId.stdout).toContain('1 record,');
  });

  it('--since takes a duration or an ISO time', async () => {
    const file = await trailFile();
    // now is 2026-11-02T10:00Z; records at 10:00…15:00 on 2026-11-01.
    const recent = await run(['show', file, '--since', '20h', '--json'], '/x');
    expect(recent.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([5, 6]);
    const iso = await run(['show', file, '--since', '2026-11-01T13:00:00Z', '--json'], '/x');
    expect(iso.stdout.trimEnd().split('\n')).toHaveLength(3);
    const bad = await run(['show', file, '--since', 'last tuesday'], '/x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since expects');
  });

  it('--json prints the stored lines unchanged', async () => {
    const file = await trailFile();
    const { stdout } = await run(['show', file, '--json'], '/x');
    expect(stdout).toBe(fs.readFileSync(file, 'utf8'));
  });

  it('warns on stderr about unparsable lines and shows the rest', async () => {
    const file = await trailFile();
    fs.appendFileSync(file, 'not json\n{"seq":1}\n{"half');
    const { code, stdout, stderr } = await run(['show', file], '/x');
    expect(code).toBe(0);
    expect(stderr).toContain('line 7: not valid JSON (skipped)');
    expect(stderr).toContain('line 8: not an audit record (skipped)');
    expect(stderr).toContain('line 9: the last line is incomplete');
    expect(stdout).toContain('6 records');
  });

  it('shows control characters in a reason as visible symbols', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    await (await openAuditTrail(file)).append(sampleEntry(0, { reason: 'line1\nline2\u001b[2J' }));
    const { stdout } = await run(['show', file], '/x');
    expect(stdout).toContain('line1␊line2␛[2J');
    expect(stdout).not.toContain('\u001b');
  });
});

describe('usage', () => {
  it('help prints usage, exit 0', async () => {
    const result = await run(['help'], '/x');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('audit verify [--sandbox] [FILE…]');
  });

  it('an unknown subcommand or option prints usage, exit 2', async () => {
    const unknown = await run(['frobnicate'], '/x');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown subcommand "frobnicate"');
    const option = await run(['show', '--colour'], '/x');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("Unknown option '--colour'");
    const none = await run([], '/x');
    expect(none.code).toBe(2);
  });
});
