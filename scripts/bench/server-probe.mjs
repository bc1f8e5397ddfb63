// Preloaded into the benchmarked server (node [--expose-gc] --import=…): it counts the server's
// fdatasync calls and watches its event loop (perf_hooks.monitorEventLoopDelay). On SIGUSR2 it
// appends one JSON line to $BENCH_PROBE_FILE — fdatasync calls so far, the event-loop delay since
// the previous line (p50/p99/max in ms, then the histogram restarts), and, when started with
// --expose-gc, the live heap after a full collection (to tell a leak from V8 keeping a larger heap).
import { appendFileSync } from 'node:fs';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';

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
  const msOf = (ns) => Number((ns / 1e6).toFixed(3));
  process.on('SIGUSR2', () => {
    const line = { syncs, eventLoop: { p50: msOf(delay.percentile(50)), p99: msOf(delay.percentile(99)), max: msOf(delay.max), samples: delay.count } };
    delay.reset();
    if (typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
      line.heapUsed = process.memoryUsage().heapUsed;
    }
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  });
}
