/** Something a shutdown waits for until it is idle. */
export interface Idleable {
  readonly idle: boolean;
  /** Resolves the next time it is idle (at once when it is). */
  whenIdle(): Promise<void>;
}

export interface DrainOptions {
  /** Also wait for this to be idle (e.g. requests received but not answered yet). */
  alsoWaitFor?: Idleable;
  /** Aborting it ends the grace period at once (a second signal). */
  hurry?: AbortSignal;
  /** How long cancelled calls get to record how they ended before the drain stops waiting for them. */
  settleMs?: number;
}

export interface DrainResult {
  /** Calls that ended by themselves during the grace period. */
  finished: number;
  /** Calls cancelled when the grace period ran out; each records the outcome `interrupted`. */
  interrupted: number;
  /** Cancelled calls that had still not ended after `settleMs` (a bug if ever non-zero). */
  abandoned: number;
}

/**
 * Tool calls in flight, so that a shutdown can let them finish — or, past a
 * grace period, cancel them so that each still ends with an audit record.
 */
export class InFlightCalls implements Idleable {
  private readonly calls = new Set<Promise<unknown>>();
  private readonly shutdown = new AbortController();
  private readonly waiters = new Waiters();
  private ended = 0;

  /** Aborted when a shutdown gives up waiting: every call still running is cancelled. */
  get signal(): AbortSignal {
    return this.shutdown.signal;
  }

  get size(): number {
    return this.calls.size;
  }

  get idle(): boolean {
    return this.calls.size === 0;
  }

  whenIdle(): Promise<void> {
    return this.idle ? Promise.resolve() : this.waiters.next();
  }

  track<T>(call: Promise<T>): Promise<T> {
    this.calls.add(call);
    const forget = () => {
      this.calls.delete(call);
      this.ended++;
      if (this.idle) this.waiters.release();
    };
    call.then(forget, forget);
    return call;
  }

  /**
   * Waits up to `graceMs` for the calls in flight (and for `alsoWaitFor`), then
   * cancels the calls still running and waits for them to record how they ended.
   */
  async drain(graceMs: number, options: DrainOptions = {}): Promise<DrainResult> {
    const endedBefore = this.ended;
    const other = options.alsoWaitFor;
    const allIdle = async (): Promise<'idle'> => {
      // Re-checked after every wake-up: a request received before the drain may start a call later.
      while (!this.idle || (other !== undefined && !other.idle)) await Promise.all([this.whenIdle(), other?.whenIdle()]);
      return 'idle';
    };
    const timers = new AbortController();
    try {
      const first = await Promise.race([allIdle(), delay(graceMs, 'grace over', timers.signal), aborted(options.hurry, timers.signal)]);
      if (first === 'idle') return { finished: this.ended - endedBefore, interrupted: 0, abandoned: 0 };
      const finished = this.ended - endedBefore;
      const interrupted = this.calls.size;
      this.shutdown.abort(new Error('server shutting down'));
      // Waiting for `alsoWaitFor` too: a cancelled call's answer must be sent before the connection closes.
      await Promise.race([allIdle(), delay(options.settleMs ?? 3_000, 'settle over', timers.signal)]);
      return { finished, interrupted, abandoned: this.calls.size };
    } finally {
      timers.abort();
    }
  }
}

/** Promises resolved together the next time something becomes idle. */
export class Waiters {
  private pending: Array<() => void> = [];

  next(): Promise<void> {
    return new Promise((resolve) => this.pending.push(resolve));
  }

  release(): void {
    const pending = this.pending;
    this.pending = [];
    for (const resolve of pending) resolve();
  }
}

/** Resolves with `value` after `ms`, or never once `cancel` aborts (its timer is cleared). */
function delay<T>(ms: number, value: T, cancel: AbortSignal): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(value), ms);
    cancel.addEventListener('abort', () => clearTimeout(timer), { once: true });
  });
}

/** Resolves when `signal` aborts; never when it is undefined or `cancel` aborts first. */
function aborted(signal: AbortSignal | undefined, cancel: AbortSignal): Promise<'hurried'> {
  return new Promise((resolve) => {
    if (signal === undefined) return;
    if (signal.aborted) return resolve('hurried');
    const onAbort = () => resolve('hurried');
    signal.addEventListener('abort', onAbort, { once: true });
    cancel.addEventListener('abort', () => signal.removeEventListener('abort', onAbort), { once: true });
  });
}
