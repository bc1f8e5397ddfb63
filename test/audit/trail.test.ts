import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { AuditUnavailableError } from '../../src/audit/errors.js';
import { nodeAuditFileSystem, openAuditTrail, type AuditFileSystem } from '../../src/audit/trail.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { readLines, sampleEntry, steppingClock, tempDir, writeLines } from './helpers.js';

const isRoot = process.getuid?.() === 0;

function auditFile(): string {
  return path.join(tempDir(), 'state', 'pingone-helpdesk-mcp', 'audit.jsonl');
}

async function expectUnavailable(action: () => unknown): Promise<AuditUnavailableError> {
  let caught: unknown;
  try {
    await action();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AuditUnavailableError);
  const error = caught as AuditUnavailableError;
  expect(error.code).toBe('AUDIT_UNAVAILABLE');
  return error;
}

/** node:fs with one call replaced. */
function faultyFs(overrides: Partial<AuditFileSystem>): AuditFileSystem {
  return { ...nodeAuditFileSystem, ...overrides };
}

function systemError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}, write`), { code });
}

describe('openAuditTrail', () => {
  it('creates the directory (0700) and the file (0600) at open', async () => {
    const file = auditFile();
    const trail = await openAuditTrail(file);
    expect(trail.status()).toEqual({ state: 'ready', path: file, nextSeq: 1 });
    expect(fs.statSync(file).size).toBe(0);
    if (process.platform !== 'win32') {
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    }
  });

  it('reports an absolute path for a relative one', async () => {
    const dir = tempDir();
    const previous = process.cwd();
    process.chdir(dir);
    try {
      expect((await openAuditTrail('audit.jsonl')).path).toBe(path.join(fs.realpathSync(dir), 'audit.jsonl'));
    } finally {
      process.chdir(previous);
    }
  });

  it('does not throw for an unusable location: it opens broken', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'not-a-dir'), 'x');
    const file = path.join(dir, 'not-a-dir', 'audit.jsonl');
    const trail = await openAuditTrail(file);
    const status = trail.status();
    expect(status.state).toBe('broken');
    expect(status.state === 'broken' ? status.reason : '').toBe(`Cannot open the audit file ${file}: ${path.join(dir, 'not-a-dir')} is a file, not a directory.`);
    const error = await expectUnavailable(() => trail.append(sampleEntry(0)));
    expect(error.path).toBe(file);
  });
});

describe('append', () => {
  it('writes one JSON line per record, chained, in a readable field order', async () => {
    const file = auditFile();
    const trail = await openAuditTrail(file, { now: steppingClock() });
    const first = await trail.append(sampleEntry(0));
    const second = await trail.append(sampleEntry(1));
    const lines = readLines(file);
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0] ?? '')).toEqual(first);
    expect(JSON.parse(lines[1] ?? '')).toEqual(second);
    expect(first).toMatchObject({ time: '2026-11-01T10:00:00.000Z', seq: 1, prevHash: '' });
    expect(second).toMatchObject({ time: '2026-11-01T10:01:00.000Z', seq: 2, prevHash: first.hash });
    expect(Object.keys(second)).toEqual([
      'v', 'time', 'seq', 'auditId', 'phase', 'tool', 'target', 'reason', 'actor', 'outcome', 'pingone', 'durationMs', 'prevHash', 'hash',
    ]);
  });

  it('hashes the RFC 8785 canonical JSON of the record without its hash', async () => {
    const trail = await openAuditTrail(auditFile());
    const record = await trail.append(sampleEntry(1));
    const { hash, ...rest } = record;
    expect(hash).toBe(createHash('sha256').update(canonicalize(rest) ?? '').digest('hex'));
  });

  it('continues the chain across restarts', async () => {
    const file = auditFile();
    const first = await openAuditTrail(file);
    for (let i = 0; i < 3; i++) await first.append(sampleEntry(i));
    const second = await openAuditTrail(file);
    expect(second.status()).toEqual({ state: 'ready', path: file, nextSeq: 4 });
    await second.append(sampleEntry(3));
    await second.append(sampleEntry(4));
    expect(readLines(file).map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 5 });
  });

  it('keeps CR, LF, U+2028, U+2029 and NEL in a reason as data: they cannot forge a line', async () => {
    const file = auditFile();
    const trail = await openAuditTrail(file);
    const reason = 'INC-1\r\n{"seq":99,"hash":"x"}\n\u2028\u2029\u0085\u001b[2Jend';
    for (let i = 0; i < 4; i++) await trail.append(sampleEntry(i, { reason }));
    const text = fs.readFileSync(file, 'utf8');
    expect(text.split('\n')).toHaveLength(5); // 4 lines and the empty string after the last newline
    expect(text).not.toMatch(/[\r\u2028\u2029\u0085\u001b]/);
    for (const line of readLines(file)) expect((JSON.parse(line) as { reason: string }).reason).toBe(reason);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 4 });
  });

  it('stores a lone surrogate as U+FFFD (RFC 8785 cannot hash it) and still verifies', async () => {
    const file = auditFile();
    const record = await (await openAuditTrail(file)).append(sampleEntry(0, { reason: 'bad \ud800 half' }));
    expect(record.reason).toBe('bad \ufffd half');
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 1 });
  });

  it('ignores trail fields smuggled into an entry', async () => {
    const trail = await openAuditTrail(auditFile());
    const smuggled = { ...sampleEntry(0), seq: 42, hash: 'x', prevHash: 'y', time: 'then' };
    const record = await trail.append(smuggled);
    expect(record.seq).toBe(1);
    expect(record.prevHash).toBe('');
    expect(record.time).not.toBe('then');
  });

  it('refuses an entry JSON cannot hold, without writing or breaking the trail', async () => {
    const file = auditFile();
    const trail = await openAuditTrail(file);
    const error = await expectUnavailable(() => trail.append(sampleEntry(1, { durationMs: Number.NaN })));
    expect(error.message).toContain('durationMs');
    expect(fs.statSync(file).size).toBe(0);
    expect(trail.status().state).toBe('ready');
    expect((await trail.append(sampleEntry(1))).seq).toBe(1);
  });
});

describe('a damaged trail opens broken and refuses to write', () => {
  const damages: Record<string, (file: string) => void> = {
    'truncated mid-line': (file) => fs.truncateSync(file, fs.statSync(file).size - 30),
    'edited last record': (file) => {
      const lines = readLines(file);
      lines[lines.length - 1] = (lines[lines.length - 1] ?? '').replace('INC-1002', 'INC-6666');
      writeLines(file, lines);
    },
    'garbage appended': (file) => fs.appendFileSync(file, 'hello\n'),
  };
  for (const [name, damage] of Object.entries(damages)) {
    it(name, async () => {
      const file = auditFile();
      const trail = await openAuditTrail(file);
      for (let i = 0; i < 3; i++) await trail.append(sampleEntry(i));
      damage(file);
      const before = fs.readFileSync(file);

      const reopened = await openAuditTrail(file);
      const status = reopened.status();
      expect(status.state).toBe('broken');
      const reason = status.state === 'broken' ? status.reason : '';
      expect(reason).toContain('ends with a record that does not verify');
      expect(reason).toContain(`pingone-helpdesk-mcp audit verify ${file}`);
      expect(reason).toContain('move the file aside');

      expect((await expectUnavailable(() => reopened.append(sampleEntry(3)))).message).toBe(reason);
      expect(fs.readFileSync(file).equals(before)).toBe(true);
    });
  }

  it.skipIf(process.platform === 'win32')('quotes a path with spaces in the advice, so it can be pasted', async () => {
    const file = path.join(tempDir(), "Dana's trails", 'audit.jsonl');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, 'garbage\n');
    const status = (await openAuditTrail(file)).status();
    expect(status.state === 'broken' ? status.reason : '').toContain(
      `audit verify '${file.replace("'", "'\\''")}'`,
    );
  });

  it('a new trail starts once the file is moved aside', async () => {
    const file = auditFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{"half a rec');
    expect((await openAuditTrail(file)).status().state).toBe('broken');
    fs.renameSync(file, `${file}.damaged`);
    const fresh = await openAuditTrail(file);
    expect(await fresh.append(sampleEntry(0))).toMatchObject({ seq: 1, prevHash: '' });
  });

  it('only reads the tail of a large file', async () => {
    const file = auditFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Not a valid trail from the start, but the tail is all that is checked at open.
    const trail = await openAuditTrail(path.join(tempDir(), 'source.jsonl'));
    const record = await trail.append(sampleEntry(0));
    fs.writeFileSync(file, `${'x'.repeat(200 * 1024)}\n${JSON.stringify(record)}\n`);
    expect((await openAuditTrail(file)).status()).toEqual({ state: 'ready', path: file, nextSeq: 2 });
  });

  it('a last line longer than the tail window is reported', async () => {
    const file = auditFile();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${'x'.repeat(100 * 1024)}\n`);
    const status = (await openAuditTrail(file)).status();
    expect(status.state === 'broken' ? status.reason : '').toContain('longer than 64 KiB');
  });
});

describe('fail closed', () => {
  // Root ignores file modes, so as root (CI) the operating system is made to refuse differently:
  // the file's directory becomes a file (ENOTDIR). Either way the same refusal path runs.
  it.skipIf(process.platform === 'win32')('the OS refuses the open (EACCES, or ENOTDIR as root), then every append throws', async () => {
    const file = auditFile();
    const dir = path.dirname(file);
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    let restore: () => void;
    let expected: string;
    if (isRoot) {
      fs.renameSync(dir, `${dir}.moved`);
      fs.writeFileSync(dir, 'not a directory');
      restore = () => {
        fs.unlinkSync(dir);
        fs.renameSync(`${dir}.moved`, dir);
      };
      expected = 'a parent of the path is not a directory (ENOTDIR)';
    } else {
      fs.chmodSync(file, 0o444);
      restore = () => fs.chmodSync(file, 0o600);
      expected = 'permission denied (EACCES)';
    }
    const error = await expectUnavailable(() => trail.append(sampleEntry(1)));
    expect(error.message).toBe(`Cannot write the audit file ${file}: ${expected}.`);
    restore();
    await expectUnavailable(() => trail.append(sampleEntry(1)));
    expect(readLines(file)).toHaveLength(1);
  });

  // Works as root too, where chmod does not stop writes.
  it('a directory where the file was: EISDIR, and later appends throw even once it is fixed', async () => {
    const file = auditFile();
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    fs.renameSync(file, `${file}.moved`);
    fs.mkdirSync(file);
    const error = await expectUnavailable(() => trail.append(sampleEntry(1)));
    expect(error.message).toBe(`Cannot write the audit file ${file}: the path is a directory (EISDIR).`);
    expect(error.osCode).toBe('EISDIR');
    fs.rmdirSync(file);
    fs.renameSync(`${file}.moved`, file);
    await expectUnavailable(() => trail.append(sampleEntry(1)));
    expect(trail.status().state).toBe('broken');
    expect(readLines(file)).toHaveLength(1);
  });

  it('full disk (ENOSPC on write): a clear message, the trail stays broken', async () => {
    const file = auditFile();
    let full = true;
    const trail = await openAuditTrail(file, {
      fileSystem: faultyFs({
        write: async (fd, buffer, offset, length) => {
          if (full) throw systemError('ENOSPC', 'no space left on device');
          return nodeAuditFileSystem.write(fd, buffer, offset, length);
        },
      }),
    });
    const error = await expectUnavailable(() => trail.append(sampleEntry(0)));
    expect(error.message).toBe(`Cannot write the audit file ${file}: no space left on device (ENOSPC).`);
    expect(error.osCode).toBe('ENOSPC');
    full = false;
    await expectUnavailable(() => trail.append(sampleEntry(0)));
    expect(trail.status()).toMatchObject({ state: 'broken' });
  });

  it('a half-written line (disk full mid-line) is never followed by another record', async () => {
    const file = auditFile();
    let calls = 0;
    const trail = await openAuditTrail(file, {
      fileSystem: faultyFs({
        write: async (fd, buffer, offset, length) => {
          calls += 1;
          if (calls === 2) throw systemError('ENOSPC', 'no space left on device');
          return nodeAuditFileSystem.write(fd, buffer, offset, Math.min(length, 50));
        },
      }),
    });
    await expectUnavailable(() => trail.append(sampleEntry(0)));
    const size = fs.statSync(file).size;
    expect(size).toBe(50);
    await expectUnavailable(() => trail.append(sampleEntry(1)));
    expect(fs.statSync(file).size).toBe(size);
    expect((await openAuditTrail(file)).status().state).toBe('broken');
  });

  it('fsync failure (EIO) breaks the trail', async () => {
    const trail = await openAuditTrail(auditFile(), {
      fileSystem: faultyFs({
        fdatasync: async () => {
          throw systemError('EIO', 'i/o error');
        },
      }),
    });
    expect((await expectUnavailable(() => trail.append(sampleEntry(0)))).message).toMatch(/input\/output error \(EIO\)\.$/);
    expect(trail.status().state).toBe('broken');
  });

  it('short writes are completed, not lost', async () => {
    const file = auditFile();
    const trail = await openAuditTrail(file, {
      fileSystem: faultyFs({ write: (fd, buffer, offset, length) => nodeAuditFileSystem.write(fd, buffer, offset, Math.min(length, 7)) }),
    });
    for (let i = 0; i < 3; i++) await trail.append(sampleEntry(i));
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 3 });
  });

  it.skipIf(!fs.existsSync('/dev/full'))('a symlink to /dev/full is refused: not a regular file', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.symlinkSync('/dev/full', file);
    const status = (await openAuditTrail(file)).status();
    expect(status).toMatchObject({ state: 'broken' });
    expect(status.state === 'broken' ? status.reason : '').toBe(`The audit file ${file} is not a regular file.`);
  });

  it('a file that shrinks under a running server breaks the trail', async () => {
    const file = auditFile();
    const trail = await openAuditTrail(file);
    for (let i = 0; i < 3; i++) await trail.append(sampleEntry(i));
    writeLines(file, readLines(file).slice(0, 2));
    const error = await expectUnavailable(() => trail.append(sampleEntry(3)));
    expect(error.message).toContain('shrank');
    expect(readLines(file)).toHaveLength(2);
  });
});

describe('sharing one file', () => {
  it('two trails on one file, appending in turn: gap-free seq, one chain', async () => {
    const file = auditFile();
    const a = await openAuditTrail(file);
    const b = await openAuditTrail(file);
    for (let i = 0; i < 20; i++) await (i % 3 === 0 ? b : a).append(sampleEntry(i));
    expect(readLines(file).map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 20 });
    expect(a.status()).toMatchObject({ nextSeq: 21 });
  });

  it('a file moved aside under a running server is not silently restarted: writes are refused', async () => {
    const file = auditFile();
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    await trail.append(sampleEntry(1));
    fs.renameSync(file, `${file}.1`);
    const error = await expectUnavailable(() => trail.append(sampleEntry(2)));
    expect(error.message).toContain('was replaced while this server was running');
    expect(trail.status().state).toBe('broken');
    expect(fs.statSync(file).size).toBe(0);
  });

  it('a file emptied under a running server (copytruncate) breaks the trail', async () => {
    const file = auditFile();
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    fs.truncateSync(file, 0);
    const error = await expectUnavailable(() => trail.append(sampleEntry(1)));
    expect(error.message).toContain('shrank');
    expect(fs.statSync(file).size).toBe(0);
  });

  it('removes a lock left by a dead process', async () => {
    const file = auditFile();
    const trail = await openAuditTrail(file);
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    expect(dead).toBeGreaterThan(0);
    fs.writeFileSync(`${file}.lock`, `${dead} ${osHost()} deadbeef`);
    expect((await trail.append(sampleEntry(0))).seq).toBe(1);
    await trail.whenIdle();
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  it('removes a lock older than 10 s even when its holder lives', async () => {
    const file = auditFile();
    const trail = await openAuditTrail(file);
    fs.writeFileSync(`${file}.lock`, `${process.ppid} ${osHost()} cafebabe`);
    const old = new Date(Date.now() - 20_000);
    fs.utimesSync(`${file}.lock`, old, old);
    expect((await trail.append(sampleEntry(0))).seq).toBe(1);
  });

  it('removes a lock with our own pid that we do not hold (an earlier process with the same pid)', async () => {
    const file = auditFile();
    const trail = await openAuditTrail(file);
    fs.writeFileSync(`${file}.lock`, `${process.pid} ${osHost()} 0123456789abcdef`);
    expect((await trail.append(sampleEntry(0))).seq).toBe(1);
  });

  it('gives up after about 2 s on a live lock, without breaking the trail', async () => {
    const file = auditFile();
    const trail = await openAuditTrail(file);
    fs.writeFileSync(`${file}.lock`, `${process.ppid} ${osHost()} feedface`);
    const started = Date.now();
    const error = await expectUnavailable(() => trail.append(sampleEntry(0)));
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(1_900);
    expect(waited).toBeLessThan(5_000);
    expect(error.message).toContain(`process ${process.ppid}`);
    expect(trail.status().state).toBe('ready');
    expect(fs.statSync(file).size).toBe(0);
    fs.unlinkSync(`${file}.lock`);
    expect((await trail.append(sampleEntry(0))).seq).toBe(1);
  });
});

/** The host name as the lock writer records it. */
function osHost(): string {
  return os.hostname().replace(/\s+/g, '_');
}
