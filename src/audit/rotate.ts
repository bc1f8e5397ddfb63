import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { localActor } from './actor.js';
import { buildContinuation, serializeRecord } from './chain.js';
import { withFileLock } from './lock.js';
import { verifyAuditFile, type VerifyResult } from './verify.js';
import { verifyAhead, verifyGrowth } from './verifyAhead.js';

/**
 * `audit rotate`: under the trail's lock, verifies the file, keeps it under a
 * timestamped name beside it, and puts in its place a new file whose first
 * record continues the old file's chain. A running server notices the new
 * file on its next append and carries on from that record.
 *
 * The bulk of the verification is done before the lock is taken, and only what
 * was appended since under it (verifyAhead.ts): servers sharing the trail wait
 * for the lock at most 2 s, and a large trail takes longer than that to verify.
 * However long the lock is held, it is kept fresh (lockRefresh.ts), so no server
 * judges it stale and writes into the file being rotated.
 */

export type RotateResult =
  | { kind: 'rotated'; kept: string; records: number }
  | { kind: 'empty' }
  | { kind: 'does-not-verify'; result: Extract<VerifyResult, { ok: false }> };

/** How long rotate waits for a server's lock: longer than an append needs, short enough for a person. */
const ROTATE_LOCK_WAIT_MS = 10_000;

/**
 * Rotates the audit file at `path`. Rejects with the file-system or lock error when it cannot.
 * The clock is read under the lock: a rotation that waited for a server's batch must not date its
 * continuation before the records that batch wrote (times never go back along the chain).
 */
export async function rotateAuditFile(path: string, clock: () => Date = () => new Date()): Promise<RotateResult> {
  const real = await fs.realpath(path);
  const ahead = await verifyAhead(real);
  if (ahead === undefined) {
    // Complete lines that do not verify now never will (the file is only appended to): the report,
    // from the whole file, is made without the lock, which servers would otherwise wait for meanwhile.
    const whole = await verifyAuditFile(real);
    if (!whole.ok) return { kind: 'does-not-verify', result: whole };
  }
  return withFileLock(real, async () => {
    const now = clock();
    const result = (ahead === undefined ? undefined : await verifyGrowth(real, ahead)) ?? (await verifyAuditFile(real));
    if (!result.ok) return { kind: 'does-not-verify', result };
    if (result.records === 0 && result.continues === undefined) return { kind: 'empty' };
    const kept = keptName(real, now);
    // link, not rename: it refuses to overwrite, and the trail's path never goes missing.
    await fs.link(real, kept).catch((err: unknown) => {
      throw exists(err) ? new Error(`${kept} already exists (a rotation in the same second); run it again`) : err;
    });
    const { osUser, host } = localActor();
    const first = buildContinuation(nodePath.basename(kept), result.last, { osUser, host }, now.toISOString());
    const fresh = `${real}.rotating`;
    const handle = await fs.open(fresh, 'wx', 0o600).catch(async (err: unknown) => {
      await fs.unlink(kept).catch(() => {});
      throw exists(err) ? new Error(`${fresh} exists: an earlier rotation was interrupted; check and remove it, then run again`) : err;
    });
    try {
      await handle.writeFile(`${serializeRecord(first)}\n`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await fs.rename(fresh, real);
    const dir = await fs.open(nodePath.dirname(real), 'r').catch(() => undefined);
    await dir?.sync().catch(() => {});
    await dir?.close();
    return { kind: 'rotated', kept, records: result.records };
  }, ROTATE_LOCK_WAIT_MS);
}

/** `audit.jsonl` → `audit.2026-11-29T03-41-07Z.jsonl` (no colons: valid on every platform). */
function keptName(path: string, now: Date): string {
  const ext = nodePath.extname(path);
  const stem = path.slice(0, path.length - ext.length);
  return `${stem}.${now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')}${ext}`;
}

function exists(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 'EEXIST';
}
