import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { buildContinuation, serializeRecord } from '../../src/audit/chain.js';
import { AuditUnavailableError } from '../../src/audit/errors.js';
import { rotateAuditFile } from '../../src/audit/rotate.js';
import { nodeAuditFileSystem, openAuditTrail } from '../../src/audit/trail.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { readLines, sampleEntry, tempDir } from './helpers.js';

const posix = process.platform !== 'win32';
const isRoot = process.getuid?.() === 0;

function osHost(): string {
  return os.hostname().replace(/\s+/g, '_');
}

describe('the lock never freezes the event loop', () => {
  it('waiting for a foreign lock keeps timers running, and fails that append only', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const trail = await openAuditTrail(file);
    // A live process on this host holds the lock (this test's parent), so it is not stale.
    fs.writeFileSync(`${file}.lock`, `${process.ppid} ${osHost()} feedface`);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 50);
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => trail.append(sampleEntry(i))));
    clearInterval(ticker);
    delay.disable();
    expect(results.every((result) => result.status === 'rejected' && result.reason instanceof AuditUnavailableError)).toBe(true);
    // The lock waits 2 s: a blocking wait would stall the loop for all of it. Generous bounds.
    expect(delay.max / 1e6).toBeLessThan(1_000);
    expect(ticks).toBeGreaterThan(5);
    expect(trail.status().state).toBe('ready');
  }, 30_000);
});

describe('one chain per file', () => {
  it.skipIf(!posix)('the lock is keyed on the real path: a lock on the file stops appends made through a symlink to it', async () => {
    const dir = tempDir();
    const real = path.join(dir, 'audit.jsonl');
    const link = path.join(dir, 'link.jsonl');
    fs.writeFileSync(real, '', { mode: 0o600 });
    fs.symlinkSync(real, link);
    const viaLink = await openAuditTrail(link);
    fs.writeFileSync(`${real}.lock`, `${process.ppid} ${osHost()} feedface`);
    await expect(viaLink.append(sampleEntry(0))).rejects.toThrow(/locked by process/);
    expect(fs.existsSync(`${link}.lock`)).toBe(false);
    fs.unlinkSync(`${real}.lock`);
    expect((await viaLink.append(sampleEntry(0))).seq).toBe(1);
    expect(readLines(real)).toHaveLength(1);
  }, 30_000);

  it.skipIf(!posix)('two trails reaching one file through a symlink share its lock: one chain', async () => {
    const dir = tempDir();
    const real = path.join(dir, 'audit.jsonl');
    const link = path.join(dir, 'link.jsonl');
    const viaReal = await openAuditTrail(real);
    fs.symlinkSync(real, link);
    const viaLink = await openAuditTrail(link);
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? viaReal : viaLink).append(sampleEntry(i))));
    expect(readLines(real).map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await verifyAuditFile(real)).toMatchObject({ ok: true, records: 40 });
  });

  // Attack: a second name for the file made with `ln` (not a symlink) has another real
  // path, so another lock file: two servers would append to one file without sharing a
  // lock and fork the chain. A file with more than one name is refused.
  it.skipIf(!posix)('a hard link to the trail under another name is refused, so no second lock guards the same file', async () => {
    const dir = tempDir();
    const real = path.join(dir, 'audit.jsonl');
    const alias = path.join(dir, 'alias.jsonl');
    const viaReal = await openAuditTrail(real);
    await viaReal.append(sampleEntry(0));
    fs.linkSync(real, alias);
    const viaAlias = await openAuditTrail(alias);
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? viaReal : viaAlias).append(sampleEntry(i))));
    expect(results.filter((_, i) => i % 2 === 1).every((result) => result.status === 'rejected')).toBe(true);
    expect(viaAlias.status()).toMatchObject({ state: 'broken', reason: expect.stringContaining('has 2 names (hard links)') });
    // Before the refusal: all 40 acknowledged as durable, and verify found two records claiming seq 2.
    expect(await verifyAuditFile(real)).toMatchObject({ ok: true, records: 21 });
  });

  it('concurrent appends in one process are group-committed: fewer fdatasyncs than records, each in its place', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const trail = await openAuditTrail(file);
    const records = await Promise.all(Array.from({ length: 50 }, (_, i) => trail.append(sampleEntry(i, { auditId: `call-${i}` }))));
    // Each caller got its own record, and the file holds them in the order the appends were made.
    expect(records.map((record) => record.auditId)).toEqual(Array.from({ length: 50 }, (_, i) => `call-${i}`));
    expect(readLines(file).map((line) => (JSON.parse(line) as { auditId: string }).auditId)).toEqual(records.map((r) => r.auditId));
    const stats = trail.syncStats();
    expect(stats.records).toBe(50);
    expect(stats.syncs).toBeLessThan(50);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 50 });
  });

  it('a caller is answered only once its record is durable', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const synced: number[] = [];
    const trail = await openAuditTrail(file, {
      fileSystem: {
        ...nodeAuditFileSystem,
        fdatasync: async (fd) => {
          await nodeAuditFileSystem.fdatasync(fd);
          synced.push(fs.statSync(file).size);
        },
      },
    });
    const appends = Array.from({ length: 10 }, (_, i) =>
      trail.append(sampleEntry(i)).then((record) => {
        // The file was synced at a size that already held this record.
        const end = readLines(file).slice(0, record.seq).join('\n').length + 1;
        expect(synced.some((size) => size >= end)).toBe(true);
      }),
    );
    await Promise.all(appends);
  });
});

describe.skipIf(!posix)('who may change the file', () => {
  it('an existing file others can write is refused', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.writeFileSync(file, '');
    fs.chmodSync(file, 0o666);
    const trail = await openAuditTrail(file);
    const status = trail.status();
    expect(status).toMatchObject({ state: 'broken' });
    expect(status.state === 'broken' ? status.reason : '').toBe(`The audit file ${file} can be changed by other users (mode 0666); run chmod 600 on it.`);
    await expect(trail.append(sampleEntry(0))).rejects.toBeInstanceOf(AuditUnavailableError);
    expect(fs.statSync(file).size).toBe(0);
  });

  it('an existing file others can read is used, with a warning', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.writeFileSync(file, '');
    fs.chmodSync(file, 0o640);
    const trail = await openAuditTrail(file);
    expect(trail.status().state).toBe('ready');
    expect(trail.warnings).toEqual([`The audit file ${file} can be read by other users (mode 0640); run chmod 600 on it unless a log shipper needs to read it.`]);
    expect((await trail.append(sampleEntry(0))).seq).toBe(1);
  });

  it('a file the server creates is private: no warning', async () => {
    const trail = await openAuditTrail(path.join(tempDir(), 'audit.jsonl'));
    expect(trail.warnings).toEqual([]);
  });

  it.skipIf(!isRoot)('an existing file owned by another user is refused', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.writeFileSync(file, '', { mode: 0o600 });
    fs.chownSync(file, 4242, 4242);
    const status = (await openAuditTrail(file)).status();
    expect(status.state === 'broken' ? status.reason : '').toBe(
      `The audit file ${file} belongs to user 4242, not to this server's user 0; give it to this user (chown) or choose another file.`,
    );
  });
});

describe('a file changed under a running trail', () => {
  it('a file replaced by another trail (not a rotation) is refused until an operator acts', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    const other = path.join(dir, 'other.jsonl');
    const otherTrail = await openAuditTrail(other);
    for (let i = 0; i < 3; i++) await otherTrail.append(sampleEntry(i));
    fs.renameSync(other, file);
    await expect(trail.append(sampleEntry(1))).rejects.toThrow(/was replaced while this server was running/);
    expect(readLines(file)).toHaveLength(3);
  });
});

describe('two processes, one killed mid-load', () => {
  it.skipIf(!posix)('kill -9 under load leaves a chain that verifies, holding every record a caller was told is durable', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const script = `
      const { openAuditTrail } = await import(${JSON.stringify(new URL('../../src/audit/trail.ts', import.meta.url).href)});
      const trail = await openAuditTrail(process.argv[1]);
      let i = 0;
      const entry = (n) => ({ auditId: 'c' + n, phase: 'outcome', tool: 'find_user', target: { environmentId: 'e' }, actor: { osUser: 'u', host: 'h' }, outcome: 'found' });
      for (;;) {
        await Promise.all(Array.from({ length: 20 }, () => { const n = i++; return trail.append(entry(n)).then(() => process.stdout.write(n + '\\n')); }));
      }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let acknowledged = '';
    child.stdout.on('data', (chunk: Buffer) => (acknowledged += chunk.toString()));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 20_000;
    while (acknowledged.split('\n').length < 200 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    const told = acknowledged.split('\n').filter((line) => line !== '').map(Number);
    expect(told.length, stderr).toBeGreaterThan(100);
    // A line cut by the kill may end the file; everything before it is one chain.
    const text = fs.readFileSync(file, 'utf8');
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    fs.writeFileSync(file, complete);
    const result = await verifyAuditFile(file);
    expect(result).toMatchObject({ ok: true });
    const written = new Set(readLines(file).map((line) => (JSON.parse(line) as { auditId: string }).auditId));
    expect(told.filter((n) => !written.has(`c${n}`))).toEqual([]);
  }, 40_000);
});

describe.skipIf(!posix)('a lock that cannot be taken', () => {
  it('the message names the lock, not the trail, as what failed', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    await trail.whenIdle();
    fs.mkdirSync(`${file}.lock`);
    const error = await trail.append(sampleEntry(1)).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(AuditUnavailableError);
    expect((error as Error).message).toBe(`Cannot take the lock ${fs.realpathSync(file)}.lock of the audit file ${file}: the path is a directory (EISDIR).`);
    expect(readLines(file)).toHaveLength(1);
  });
});

/** Puts a file holding `record` alone in the place of `file`, in one rename, as `audit rotate` does. */
function swapIn(file: string, record: object): void {
  const swap = path.join(path.dirname(file), 'swap.jsonl');
  fs.writeFileSync(swap, `${serializeRecord(record)}\n`, { mode: 0o600 });
  fs.renameSync(swap, file);
}

describe('a forged rotation swapped in under a running trail', () => {
  // Attack: replace the file with one whose first record is a well-formed `continued`
  // record claiming a later point of the chain (seq far ahead, any hash, a predecessor
  // that does not exist). The server must not adopt it: that would bury the records it
  // wrote under a chain that `audit verify` accepts on its own.
  it('a continuation naming a predecessor that does not hold our last record is refused', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    await trail.append(sampleEntry(1));
    const forged = buildContinuation('gone.jsonl', { seq: 100, hash: 'ab'.repeat(32) }, { osUser: 'x', host: 'y' }, new Date().toISOString());
    swapIn(file, forged);
    await expect(trail.append(sampleEntry(2))).rejects.toThrow(/was replaced while this server was running/);
    expect(readLines(file)).toHaveLength(1);
  });

  it('the same forgery with a predecessor file that is not ours is refused too', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    const other = await openAuditTrail(path.join(dir, 'other.jsonl'));
    for (let i = 0; i < 5; i++) await other.append(sampleEntry(i));
    const otherEnd = (await verifyAuditFile(path.join(dir, 'other.jsonl'))) as { last: { seq: number; hash: string } };
    const forged = buildContinuation('other.jsonl', otherEnd.last, { osUser: 'x', host: 'y' }, new Date().toISOString());
    swapIn(file, forged);
    await expect(trail.append(sampleEntry(1))).rejects.toThrow(/was replaced while this server was running/);
  });

  it('a continuation naming our own file, with a line after our last record that does not chain, is refused', async () => {
    // The server checks only what follows its last record when the predecessor is the file it has
    // open: that part must still be verified, not taken on the file's identity alone.
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    await trail.append(sampleEntry(1));
    const bogus = { seq: 3, hash: 'cd'.repeat(32) };
    fs.appendFileSync(file, `${JSON.stringify({ ...JSON.parse(readLines(file)[1] as string), ...bogus })}\n`);
    fs.linkSync(file, path.join(dir, 'kept.jsonl'));
    const forged = buildContinuation('kept.jsonl', bogus, { osUser: 'x', host: 'y' }, new Date().toISOString());
    swapIn(file, forged);
    await expect(trail.append(sampleEntry(2))).rejects.toThrow(/was replaced while this server was running/);
    expect(readLines(file)).toHaveLength(1);
  });

  // The file the continuation names is read under the lock, which the holder keeps fresh however long
  // it holds: a FIFO there, read the ordinary way, waits for a writer forever, and the trail with it
  // (this server and every other sharing the file, since the lock never ages out).
  it.skipIf(!posix)('a continuation naming a FIFO is refused, not waited on', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const trail = await openAuditTrail(file);
    const last = await trail.append(sampleEntry(0));
    await trail.whenIdle();
    expect(spawnSync('mkfifo', [path.join(dir, 'kept.jsonl')]).status).toBe(0);
    const forged = buildContinuation('kept.jsonl', { seq: last.seq + 1, hash: 'ab'.repeat(32) }, { osUser: 'x', host: 'y' }, new Date().toISOString());
    swapIn(file, forged);
    const outcome = await Promise.race([
      trail.append(sampleEntry(1)).then(
        () => 'recorded',
        (err: unknown) => (err instanceof AuditUnavailableError ? err.message : 'other error'),
      ),
      new Promise((resolve) => setTimeout(() => resolve('no answer after 10 s'), 10_000)),
    ]);
    expect(outcome).toMatch(/was replaced while this server was running/);
    expect(readLines(file)).toHaveLength(1);
  }, 30_000);

  it('a real rotation after another server appended is still followed', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    const second = await openAuditTrail(file);
    await second.append(sampleEntry(1));
    await second.append(sampleEntry(2));
    expect((await rotateAuditFile(file)).kind).toBe('rotated');
    expect((await trail.append(sampleEntry(3))).seq).toBe(5);
  });
});

describe.skipIf(!posix)('a process out of file descriptors for a moment', () => {
  const fixture = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'out-of-descriptors.ts');

  it('refuses the records it cannot lock for, and records again once descriptors are free', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const child = spawn('sh', ['-c', 'ulimit -n 256 && exec "$0" --import tsx "$1" "$2"', process.execPath, fixture, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await new Promise((resolve) => child.on('close', resolve)), stderr).toBe(0);
    const report = JSON.parse(stdout) as { before: string; during: string; after: string; state: string; spent: number };
    expect(report.spent).toBeGreaterThan(0);
    // Nothing was written under a lock it could not take: the trail need not stop for good.
    expect(report).toMatchObject({ before: 'recorded', during: 'EMFILE', after: 'recorded', state: 'ready' });
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 2 });
  }, 30_000);
});
