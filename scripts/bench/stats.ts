/** Small numeric helpers for the benchmark: nearest-rank percentiles, fixed-width formatting. */

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (samples: readonly number[]): number => percentile(samples, 50);

/** Milliseconds with a precision that suits their size. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return Math.abs(value) < 10 ? value.toFixed(2) : value.toFixed(1);
}

export function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

export function kib(bytes: number): string {
  return (bytes / 1024).toFixed(0);
}

/** Resident set size and its peak, from /proc (Linux only; undefined elsewhere). */
export function memoryOf(pid: number, readFile: (path: string) => string): { rss: number; peak: number } | undefined {
  try {
    const status = readFile(`/proc/${pid}/status`);
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/**
 * CPU time a process has used so far, all its threads, in ms, from /proc/<pid>/task/<tid>/schedstat
 * (Linux only; NaN elsewhere). On a shared machine it moves less with the others' load than wall time.
 */
export function cpuTimeOf(pid: number, readFile: (path: string) => string, listDir: (path: string) => string[]): number {
  try {
    let nanoseconds = 0;
    for (const task of listDir(`/proc/${pid}/task`)) nanoseconds += Number(readFile(`/proc/${pid}/task/${task}/schedstat`).split(' ')[0]);
    return nanoseconds / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** Least-squares slope of y over x; NaN with fewer than two points. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  if (points.length < 2) return Number.NaN;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / points.length;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / points.length;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}
