import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditUnavailableError } from '../../src/audit/errors.js';
import { rotateAuditFile } from '../../src/audit/rotate.js';
import { nodeAuditFileSystem, openAuditTrail, type AuditFileSystem } from '../../src/audit/trail.js';
import { mayStayOpen } from '../../src/audit/trailFile.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { readLines, sampleEntry, tempDir, writeLines, writeTrail } from './helpers.js';

// The trail keeps its file open between batches and checks, under the lock, with one
// stat of the path, that the path still names that file at the size it left.

const posix = process.platform !== 'win32';
const procFd = fs.existsSync('/proc/self/fd');

type Call = keyof AuditFileSystem;

/** node:fs, counting the calls made through it. */
function countingFs(): { fileSystem: AuditFileSystem; calls: Map<Call, number>; reset(): void } {
  const calls = new Map<Call, number>();
  const count = <K extends Call>(name: K): AuditFileSystem[K] => {
    const real = nodeAuditFileSystem[name] as (...args: unknown[]) => unknown;
    return ((...args: unknown[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return real(...args);
    }) as AuditFileSystem[K];
  };
  const fileSystem: AuditFileSystem = {
    mkdir: count('mkdir'), open: count('open'), stat: count('stat'), fstat: count('fstat'), statfs: count('statfs'), read: count('read'),
    write: count('write'), fdatasync: count('fdatasync'), close: count('close'),
  };
  return { fileSystem, calls, reset: () => calls.clear() };
}

/** The paths this process has open right now (Linux). */
function openPaths(): string[] {
  return fs.readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [fs.readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return [];
    }
  });
}

const linux = process.platform === 'linux';

/**
 * node:fs whose first `open` after `arm()` takes, once it has its own descriptor, every descriptor left
 * (onto /dev/null): what follows it in the same batch meets a real EMFILE. `giveBack()` closes them and
 * says how many there were.
 */
function hoardingFs(overrides: Partial<AuditFileSystem> = {}): { fileSystem: AuditFileSystem; arm(): void; giveBack(): number } {
  const hoard: number[] = [];
  let armed = false;
  const fileSystem: AuditFileSystem = {
    ...nodeAuditFileSystem,
    ...overrides,
    open: async (...args) => {
      const fd = await nodeAuditFileSystem.open(...args);
      if (armed) {
        armed = false;
        for (;;) {
          try {
            hoard.push(fs.openSync('/dev/null', 'r'));
          } catch {
            break;
          }
        }
      }
      return fd;
    },
  };
  const giveBack = () => {
    const taken = hoard.length;
    for (const fd of hoard.splice(0)) fs.closeSync(fd);
    return taken;
  };
  return { fileSystem, arm: () => void (armed = true), giveBack };
}

describe.skipIf(!linux)('the audit file stays open between batches (Linux, local file system)', () => {
  it('a lone append is one stat, one write and one fdatasync: no open, no close, no read', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const counting = countingFs();
    const trail = await openAuditTrail(file, { fileSystem: counting.fileSystem });
    await trail.append(sampleEntry(0));
    counting.reset();
    for (let i = 1; i <= 10; i++) await trail.append(sampleEntry(i));
    expect(Object.fromEntries(counting.calls)).toEqual({ stat: 10, write: 10, fdatasync: 10 });
    expect(trail.syncStats()).toEqual({ records: 11, syncs: 11 });
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 11 });
  });

  it('records another process appended between two of ours are read from the tail and continued', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const counting = countingFs();
    const trail = await openAuditTrail(file, { fileSystem: counting.fileSystem });
    await trail.append(sampleEntry(0));
    const other = await openAuditTrail(file);
    await other.append(sampleEntry(1));
    await other.append(sampleEntry(2));
    counting.reset();
    expect((await trail.append(sampleEntry(3))).seq).toBe(4);
    expect(counting.calls.get('read')).toBeGreaterThanOrEqual(1);
    expect(counting.calls.get('open')).toBeUndefined();
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 4 });
  });

  it('a file cut and refilled to a larger size is caught: our last record is gone: writes refused', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    const size = fs.statSync(file).size;
    fs.truncateSync(file, 0);
    fs.appendFileSync(file, `${'x'.repeat(size + 10)}\n`);
    await expect(trail.append(sampleEntry(1))).rejects.toThrow(/rewritten while this server was running/);
    expect(trail.status().state).toBe('broken');
  });

  it('a file overwritten in place by another genuine, larger trail (`cp older.jsonl audit.jsonl`) is refused, not continued', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const trail = await openAuditTrail(file);
    for (let i = 0; i < 2; i++) await trail.append(sampleEntry(i));
    const older = path.join(dir, 'older.jsonl');
    await writeTrail(older, 6); // a chain of its own that verifies, longer than ours
    const copied = fs.readFileSync(older);
    fs.writeFileSync(file, copied); // truncates and refills the same inode
    await expect(trail.append(sampleEntry(2))).rejects.toThrow(/rewritten while this server was running/);
    expect(trail.status().state).toBe('broken');
    expect(fs.readFileSync(file).equals(copied)).toBe(true);
  });

  it.skipIf(!posix)('a file replaced under the same name between two appends is caught, and nothing is written to either file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.jsonl');
    const trail = await openAuditTrail(file);
    await trail.append(sampleEntry(0));
    const ours = fs.readFileSync(file);
    fs.renameSync(file, path.join(dir, 'moved.jsonl'));
    fs.writeFileSync(file, '', { mode: 0o600 });
    await expect(trail.append(sampleEntry(1))).rejects.toThrow(/was replaced while this server was running/);
    expect(fs.readFileSync(path.join(dir, 'moved.jsonl')).equals(ours)).toBe(true);
    expect(fs.statSync(file).size).toBe(0);
  });

  it.skipIf(!procFd)('after `audit rotate`, the next record goes to the new file, the kept file is untouched and no longer held open', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const trail = await openAuditTrail(file);
    for (let i = 0; i < 3; i++) await trail.append(sampleEntry(i));
    expect(openPaths()).toContain(file);
    const rotated = await rotateAuditFile(file, () => new Date('2026-11-29T06:00:00Z'));
    if (rotated.kind !== 'rotated') throw new Error(rotated.kind);
    const kept = fs.readFileSync(rotated.kept);
    expect((await trail.append(sampleEntry(3))).seq).toBe(5);
    expect(fs.readFileSync(rotated.kept).equals(kept)).toBe(true);
    expect(readLines(file)).toHaveLength(2);
    expect(openPaths()).not.toContain(rotated.kept);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true });
  });

  it('a trail that keeps its file open follows a rotation without a descriptor to spare', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const { fileSystem, arm, giveBack } = hoardingFs();
    const trail = await openAuditTrail(file, { fileSystem });
    expect(trail.status()).toMatchObject({ state: 'ready' });
    for (let i = 0; i < 3; i++) await trail.append(sampleEntry(i));
    const rotated = await rotateAuditFile(file, () => new Date('2026-11-29T06:00:00Z'));
    if (rotated.kind !== 'rotated') throw new Error(rotated.kind);
    arm();
    const appended = await trail.append(sampleEntry(3)).then(
      (record) => record,
      (error: unknown) => error,
    );
    const hoarded = giveBack();
    expect(hoarded).toBeGreaterThan(0);
    expect(appended).toMatchObject({ seq: 5 });
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 2 });
  });
});

describe('on a network file system the file is opened for each batch', () => {
  // NFS and its kind are consistent between hosts only from an open to a close.
  it('an NFS trail opens, reads its size and closes around every append, and still follows another writer', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    const counting = countingFs();
    const nfs: AuditFileSystem = { ...counting.fileSystem, statfs: async () => ({ type: 0x6969 }) };
    const trail = await openAuditTrail(file, { fileSystem: nfs });
    await trail.append(sampleEntry(0));
    const other = await openAuditTrail(file);
    await other.append(sampleEntry(1));
    counting.reset();
    for (let i = 2; i < 5; i++) await trail.append(sampleEntry(i));
    expect(Object.fromEntries(counting.calls)).toMatchObject({ open: 3, fstat: 3, write: 3, fdatasync: 3, close: 3 });
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 5 });
  });

  it('running out of descriptors when the file is opened for a batch refuses that batch only; the next one records', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    let refuseOpens = 0;
    const nfs: AuditFileSystem = {
      ...nodeAuditFileSystem,
      statfs: async () => ({ type: 0x6969 }),
      open: async (...args) => {
        if (refuseOpens > 0) {
          refuseOpens--;
          throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
        }
        return nodeAuditFileSystem.open(...args);
      },
    };
    const trail = await openAuditTrail(file, { fileSystem: nfs });
    await trail.append(sampleEntry(0));
    refuseOpens = 1;
    const refused = await trail.append(sampleEntry(1)).then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(AuditUnavailableError);
    expect((refused as AuditUnavailableError).message).toMatch(/^Cannot open the audit file .*, so nothing was recorded\.$/);
    expect(trail.status().state).not.toBe('broken');
    await trail.append(sampleEntry(2));
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 2 });
  });

  it('running out of descriptors while checking that a rotated file continues the chain refuses that batch only', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    // Once armed, every descriptor left is taken right after the trail opens the new file, so the
    // check that follows (it opens the kept file) meets a real EMFILE. On a file system where the
    // file is not kept open between batches: where it is, the kept file is the one the trail holds
    // open, and following needs no descriptor (see the Linux tests above).
    const { fileSystem, arm, giveBack } = hoardingFs({ statfs: async () => ({ type: 0x6969 }) });
    const trail = await openAuditTrail(file, { fileSystem });
    for (let i = 0; i < 3; i++) await trail.append(sampleEntry(i));
    const rotated = await rotateAuditFile(file, () => new Date('2026-11-29T06:00:00Z'));
    if (rotated.kind !== 'rotated') throw new Error(rotated.kind);
    arm();
    const refused = await trail.append(sampleEntry(3)).then(
      () => undefined,
      (error: unknown) => error,
    );
    giveBack();
    expect(refused).toBeInstanceOf(AuditUnavailableError);
    expect((refused as AuditUnavailableError).message).toMatch(/^Cannot open the audit file .*, so nothing was recorded\.$/);
    expect(trail.status().state).not.toBe('broken');
    expect((await trail.append(sampleEntry(4))).seq).toBe(5);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 2 });
  });

  it('which file systems keep the file open', () => {
    expect(mayStayOpen('linux', 0xef53)).toBe(true); // ext4
    expect(mayStayOpen('linux', 0x01021994)).toBe(true); // tmpfs
    for (const network of [0x6969, 0x517b, 0xff534d42, 0xfe534d42, 0x65735546]) expect(mayStayOpen('linux', network)).toBe(false);
    expect(mayStayOpen('linux', undefined)).toBe(false);
    expect(mayStayOpen('darwin', 0x1a)).toBe(false);
    expect(mayStayOpen('win32', 0)).toBe(false);
  });
});

describe("verifyTail: 'first-append'", () => {
  it('opens without reading the file: the tail is checked under the first append’s lock', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    await writeTrail(file, 3);
    const counting = countingFs();
    const trail = await openAuditTrail(file, { fileSystem: counting.fileSystem, verifyTail: 'first-append' });
    expect(counting.calls.get('read')).toBeUndefined();
    expect(trail.status()).toEqual({ state: 'ready', path: file, nextSeq: undefined });
    const record = await trail.append(sampleEntry(3));
    expect(record.seq).toBe(4);
    expect(counting.calls.get('read')).toBeGreaterThanOrEqual(1);
    expect(trail.status()).toEqual({ state: 'ready', path: file, nextSeq: 5 });
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 4 });
  });

  it('a tail that does not verify refuses the first write, and the file is left as it was', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    await writeTrail(file, 3);
    const lines = readLines(file);
    lines[2] = (lines[2] ?? '').replace('INC-1002', 'INC-6666');
    writeLines(file, lines);
    const before = fs.readFileSync(file);
    const trail = await openAuditTrail(file, { verifyTail: 'first-append' });
    expect(trail.status().state).toBe('ready');
    const results = await Promise.allSettled([trail.append(sampleEntry(3)), trail.append(sampleEntry(4))]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect(result.status === 'rejected' ? result.reason : undefined).toBeInstanceOf(AuditUnavailableError);
      expect(result.status === 'rejected' ? String(result.reason) : '').toContain('ends with a record that does not verify');
    }
    expect(trail.status().state).toBe('broken');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it.skipIf(!posix)('the owner and mode are still checked at open', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.writeFileSync(file, '');
    fs.chmodSync(file, 0o666);
    const trail = await openAuditTrail(file, { verifyTail: 'first-append' });
    expect(trail.status()).toMatchObject({ state: 'broken', reason: expect.stringContaining('can be changed by other users') });
  });

  it.skipIf(!fs.existsSync('/dev/full'))('a path that is not a regular file is refused at open', async () => {
    const file = path.join(tempDir(), 'audit.jsonl');
    fs.symlinkSync('/dev/full', file);
    const trail = await openAuditTrail(file, { verifyTail: 'first-append' });
    expect(trail.status()).toMatchObject({ state: 'broken', reason: `The audit file ${file} is not a regular file.` });
  });
});
