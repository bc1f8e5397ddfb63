// Measures what the audit trail costs a tool call: every append is written and
// fdatasync'd before it resolves. Also appends with many calls in flight, where
// group commit writes and syncs the records that arrived together in one go:
// prints records per fdatasync and the event loop's delay meanwhile. Figures only.
//   npx tsx scripts/bench-audit.ts [N]     (default N = 2000)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AuditEntry } from '../src/audit/record.js';
import { openAuditTrail } from '../src/audit/trail.js';
import { percentile } from './bench/stats.js';

const count = Number(process.argv[2] ?? 2000);
if (!Number.isSafeInteger(count) || count < 1) {
  process.stderr.write('usage: npx tsx scripts/bench-audit.ts [N]   (N: records to append, default 2000)\n');
  process.exit(2);
}

const FS_TYPES: Readonly<Record<number, string>> = {
  0xef53: 'ext4',
  0x01021994: 'tmpfs',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
  0x6a656a62: 'zfs',
  0x65735546: 'fuse',
  0x1badface: 'bfs',
};

function fileSystemName(dir: string): string {
  try {
    const type = fs.statfsSync(dir).type;
    return FS_TYPES[type] ?? `type 0x${type.toString(16)}`;
  } catch {
    return 'unknown';
  }
}

/** One realistic pair: the intent before the PingOne write, the outcome after. */
function entries(i: number): [AuditEntry, AuditEntry] {
  const auditId = `${i.toString(16).padStart(8, '0')}-7d1c-4e55-9a0b-3f6e2d1c0b9a`;
  const target = {
    environmentId: '6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0',
    userId: `${(i * 7919).toString(16).padStart(8, '0')}-1111-4222-8333-444455556666`,
    username: `jdoe${i}@corp.example.com`,
  };
  const actor = { client: 'claude-ai/0.1.0', osUser: 'helpdesk', host: 'desk-01', operator: 'Dana Operator' };
  const reason = `INC-${100000 + i}: user locked out after password change, verified by callback`;
  return [
    { auditId, phase: 'intent', tool: 'unlock_user', target, reason, actor },
    {
      auditId,
      phase: 'outcome',
      tool: 'unlock_user',
      target,
      reason,
      actor,
      outcome: 'unlocked',
      pingone: { status: 200, correlationId: `c0ffee00-${(i % 10000).toString().padStart(4, '0')}-4222-8333-444455556666` },
      durationMs: 183,
    },
  ];
}

function report(label: string, unit: string, samplesNs: readonly bigint[], totalNs: bigint): void {
  const ms = samplesNs.map((ns) => Number(ns) / 1e6).sort((a, b) => a - b);
  const f = (v: number): string => v.toFixed(2).padStart(6);
  const rate = (samplesNs.length / (Number(totalNs) / 1e9)).toFixed(0);
  process.stdout.write(
    `${label.padEnd(20)} ${rate.padStart(5)} ${unit}/s   latency ms: p50 ${f(percentile(ms, 50))}  p90 ${f(percentile(ms, 90))}  p99 ${f(percentile(ms, 99))}  max ${f(ms.at(-1) ?? Number.NaN)}\n`,
  );
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-audit-'));
try {
  process.stdout.write(`audit append bench: node ${process.version}, ${count} records, ${dir} (${fileSystemName(dir)})\n`);

  // Single appends.
  const singles = await openAuditTrail(path.join(dir, 'single.jsonl'));
  const singleNs: bigint[] = [];
  const singleStart = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const entry = entries(i)[i % 2];
    if (entry === undefined) throw new Error('unreachable');
    const t0 = process.hrtime.bigint();
    await singles.append(entry);
    singleNs.push(process.hrtime.bigint() - t0);
  }
  report('append', 'records', singleNs, process.hrtime.bigint() - singleStart);

  // Intent + outcome: what one write tool call adds.
  const pairs = await openAuditTrail(path.join(dir, 'pairs.jsonl'));
  const pairNs: bigint[] = [];
  const pairCount = Math.max(1, Math.floor(count / 2));
  const pairStart = process.hrtime.bigint();
  for (let i = 0; i < pairCount; i++) {
    const [intent, outcome] = entries(i);
    const t0 = process.hrtime.bigint();
    await pairs.append(intent);
    await pairs.append(outcome);
    pairNs.push(process.hrtime.bigint() - t0);
  }
  report('intent + outcome', 'pairs', pairNs, process.hrtime.bigint() - pairStart);

  // Many calls in flight: each waits for its own record, as a tool call does.
  for (const inFlight of [10, 100]) {
    const trail = await openAuditTrail(path.join(dir, `concurrent-${inFlight}.jsonl`));
    const latencyNs: bigint[] = [];
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const start = process.hrtime.bigint();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const entry = entries(next)[next % 2];
        next += 1;
        if (entry === undefined) throw new Error('unreachable');
        const t0 = process.hrtime.bigint();
        await trail.append(entry);
        latencyNs.push(process.hrtime.bigint() - t0);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    loop.disable();
    report(`${inFlight} in flight`, 'records', latencyNs, process.hrtime.bigint() - start);
    const { records, syncs } = trail.syncStats();
    process.stdout.write(
      `${''.padEnd(20)} ${(records / syncs).toFixed(1)} records per fdatasync (${syncs} syncs); event-loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(2)} ms, max ${(loop.max / 1e6).toFixed(2)} ms\n`,
    );
  }

  const size = fs.statSync(path.join(dir, 'single.jsonl')).size;
  process.stdout.write(`record size: ${(size / count).toFixed(0)} bytes on average\n`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
