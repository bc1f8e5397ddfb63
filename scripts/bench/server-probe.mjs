// Preloaded into the benchmarked server (node [--expose-gc] --import=…): it counts the server's
// fdatasync calls and watches its event loop (perf_hooks.monitorEventLoopDelay) and its garbage
// collector's pauses. On SIGUSR2 it appends one JSON line to $BENCH_PROBE_FILE — fdatasync calls
// so far, the event-loop delay and the GC pauses since the previous line (p50/p99/max in ms, then
// both restart), and, when started with --expose-gc, the live heap after a full collection (to
// tell a leak from V8 keeping a larger heap).
import { appendFileSync } from 'node:fs';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.BENCH_PROBE_FILE;
if (file) {
  let syncs = 0;
  const fdatasync = fs.fdatasync;
  // Patched before the server's bundle loads, so that the audit trail's promisify(fs.fdatasync) wraps this.
  fs.fdatasync = function countedFdatasync(...args) {
    syncs++;
    return fdatasync.apply(this, args);
  };
  syncBuiltinESMExports();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let pauses = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration);
  }).observe({ entryTypes: ['gc'] });
  const msOf = (ns) => Number((ns / 1e6).toFixed(3));
  const at = (sorted, p) => Number((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0).toFixed(3));
  process.on('SIGUSR2', () => {
    const sorted = pauses.sort((a, b) => a - b);
    const gc = { pauses: sorted.length, totalMs: Number(sorted.reduce((a, b) => a + b, 0).toFixed(1)), p50: at(sorted, 50), p99: at(sorted, 99), max: at(sorted, 100) };
    const line = { syncs, eventLoop: { p50: msOf(delay.percentile(50)), p99: msOf(delay.percentile(99)), max: msOf(delay.max), samples: delay.count }, gc };
    delay.reset();
    pauses = [];
    if (typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
      line.heapUsed = process.memoryUsage().heapUsed;
    }
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  });
}
