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
 * Each call gets its own abort signal, aborted by the shutdown directly: no
 * listener per call on a long-lived signal (Node warns past ten of them).
 */
export class InFlightCalls implements Idleable {
  private readonly calls = new Map<Promise<unknown>, AbortController>();
  private readonly waiters = new Waiters();
  private ended = 0;
  private stopping = false;

  /** True once a shutdown gave up waiting and cancelled the calls still running. */
  get cancelled(): boolean {
    return this.stopping;
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

  /** Runs `call` with a signal that a shutdown aborts; the call counts as in flight until it settles. */
  track<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const stop = new AbortController();
    if (this.stopping) stop.abort(new Error('server shutting down'));
    const running = call(stop.signal);
    this.calls.set(running, stop);
    const forget = () => {
      this.calls.delete(running);
      this.ended++;
      if (this.idle) this.waiters.release();
    };
    running.then(forget, forget);
    return running;
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
      this.stopping = true;
      for (const stop of this.calls.values()) stop.abort(new Error('server shutting down'));
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

/**
 * A ceiling on tool calls running at once: PingOne's rate limit is shared by
 * every app of the tenant, and memory grows with every call in flight. Beyond
 * the ceiling calls wait their turn in a bounded queue; beyond the queue they
 * are refused at once. A verified operator also has a ceiling of their own,
 * so one busy operator waits while the others still get turns, and a share of
 * the queue in the same proportion, so their waiting calls cannot fill it and
 * have everyone else's refused as soon as the server is busy.
 */
export class CallGate {
  private running = 0;
  private readonly byOperator = new Map<string, number>();
  private readonly queue: Array<{ operator: string | undefined; admit: () => void }> = [];

  constructor(readonly limits: { maxConcurrent: number; maxQueued: number; maxConcurrentPerOperator?: number }) {}

  get active(): number {
    return this.running;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Calls of this operator running now. */
  activeFor(operator: string): number {
    return this.byOperator.get(operator) ?? 0;
  }

  /**
   * Resolves with a release function once the call may run; `full` when the
   * queue is full; `stopped` when `signal` aborts while waiting. `operator`
   * (a verified operator's key) counts the call against that operator's ceiling too.
   */
  enter(signal: AbortSignal, operator?: string): Promise<{ kind: 'admitted'; release: () => void } | { kind: 'full' } | { kind: 'stopped' }> {
    if (this.mayRun(operator)) return Promise.resolve({ kind: 'admitted', release: this.take(operator) });
    if (this.queue.length >= this.limits.maxQueued || !this.mayQueue(operator)) return Promise.resolve({ kind: 'full' });
    return new Promise((resolve) => {
      const entry = {
        operator,
        admit: () => {
          signal.removeEventListener('abort', onAbort);
          resolve({ kind: 'admitted', release: this.take(operator) });
        },
      };
      const onAbort = () => {
        const index = this.queue.indexOf(entry);
        if (index >= 0) this.queue.splice(index, 1);
        resolve({ kind: 'stopped' });
      };
      if (signal.aborted) return resolve({ kind: 'stopped' });
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(entry);
    });
  }

  /** Below the operator's share of the queue: the queue in the proportion of their ceiling to the total one. */
  private mayQueue(operator: string | undefined): boolean {
    const own = this.limits.maxConcurrentPerOperator;
    if (operator === undefined || own === undefined) return true;
    const share = Math.max(1, Math.ceil((this.limits.maxQueued * own) / this.limits.maxConcurrent));
    return this.queue.filter((entry) => entry.operator === operator).length < share;
  }

  private mayRun(operator: string | undefined): boolean {
    if (this.running >= this.limits.maxConcurrent) return false;
    const own = this.limits.maxConcurrentPerOperator;
    return operator === undefined || own === undefined || this.activeFor(operator) < own;
  }

  /** Counts a call as running; the function it returns gives the turn back (once) and admits who may run now. */
  private take(operator: string | undefined): () => void {
    this.running++;
    if (operator !== undefined) this.byOperator.set(operator, this.activeFor(operator) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      if (operator !== undefined) {
        const left = this.activeFor(operator) - 1;
        if (left > 0) this.byOperator.set(operator, left);
        else this.byOperator.delete(operator);
      }
      this.admitWaiting();
    };
  }

  /** In arrival order, every waiting call whose operator is below their ceiling, while turns are free. */
  private admitWaiting(): void {
    for (let index = 0; index < this.queue.length && this.running < this.limits.maxConcurrent; ) {
      const entry = this.queue[index]!;
      if (!this.mayRun(entry.operator)) {
        index++;
        continue;
      }
      this.queue.splice(index, 1);
      entry.admit();
    }
  }
}
