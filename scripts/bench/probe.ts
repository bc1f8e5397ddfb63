import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** One line of scripts/bench/server-probe.mjs. */
export interface ProbeLine {
  /** fdatasync calls since the server started. */
  syncs: number;
  /** Event-loop delay since the previous line, in ms. */
  eventLoop: { p50: number; p99: number; max: number; samples: number };
  /** Garbage-collection pauses since the previous line, in ms. */
  gc: { pauses: number; totalMs: number; p50: number; p99: number; max: number };
  /** Live heap after a full GC (only when the server runs with --expose-gc). */
  heapUsed?: number;
}

/** The server-side half of the probe: signal the server, wait for its line. */
export class ProbeReader {
  constructor(readonly file: string) {}

  /** Node flags that load the probe; `gc` adds --expose-gc for the live-heap figure. */
  static flags(gc: boolean): string[] {
    return [...(gc ? ['--expose-gc'] : []), `--import=${new URL('./server-probe.mjs', import.meta.url).pathname}`];
  }

  async sample(child: ChildProcess): Promise<ProbeLine> {
    const before = this.lines().length;
    child.kill('SIGUSR2');
    for (let waited = 0; waited < 10_000; waited += 5) {
      await sleep(5);
      const lines = this.lines();
      if (lines.length > before) return JSON.parse(lines.at(-1)!) as ProbeLine;
    }
    throw new Error('bench: the server probe did not answer');
  }

  private lines(): string[] {
    return existsSync(this.file) ? readFileSync(this.file, 'utf8').split('\n').filter(Boolean) : [];
  }
}
