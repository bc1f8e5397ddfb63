// Preloaded into the benchmarked server (node --expose-gc --import=…): on SIGUSR2 it runs a full
// garbage collection and appends the live heap size to $BENCH_HEAP_FILE. The bench reads that to
// tell a leak (live objects accumulating per call) from V8 merely keeping a larger heap around.
import { appendFileSync } from 'node:fs';

const file = process.env.BENCH_HEAP_FILE;
if (file && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc();
    globalThis.gc();
    appendFileSync(file, `${process.memoryUsage().heapUsed}\n`);
  });
}
