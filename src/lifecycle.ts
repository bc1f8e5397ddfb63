/**
 * Tool calls in flight, so that a shutdown can let them finish — or, past a
 * grace period, cancel them so that each still ends with an audit record.
 */
export class InFlightCalls {
  private readonly calls = new Set<Promise<unknown>>();
  private readonly shutdown = new AbortController();

  /** Aborted when a shutdown gives up waiting: every call still running is cancelled. */
  get signal(): AbortSignal {
    return this.shutdown.signal;
  }

  get size(): number {
    return this.calls.size;
  }

  track<T>(call: Promise<T>): Promise<T> {
    this.calls.add(call);
    const forget = () => this.calls.delete(call);
    call.then(forget, forget);
    return call;
  }

  /**
   * Waits up to `graceMs` for the calls in flight, then cancels the rest and
   * waits for them to record how they ended. Returns how many were interrupted.
   */
  async drain(graceMs: number): Promise<{ finished: number; interrupted: number }> {
    const pending = [...this.calls];
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const settled = Promise.allSettled(pending).then(() => 'done' as const);
    const first = await Promise.race([settled, graceOver]);
    clearTimeout(timer);
    if (first === 'done') return { finished: pending.length, interrupted: 0 };
    const interrupted = this.calls.size;
    this.shutdown.abort(new Error('server shutting down'));
    await Promise.allSettled([...this.calls]);
    return { finished: pending.length - interrupted, interrupted };
  }
}
