import type { RouteName } from './routes.js';

/**
 * Fault injection: tests queue misbehaviours that the next matching requests
 * suffer, to exercise a client's timeouts, retries and parsing defences.
 */

export type FaultAction =
  /** A plain error status. Without `body`, the realistic P1Error (or OAuth error on the token route). */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Destroy the socket without answering. */
  | { kind: 'reset' }
  /** Never send headers; the socket stays open until the client gives up or the emulator closes. */
  | { kind: 'hang' }
  /** Send 200 headers and part of a body, then nothing more. */
  | { kind: 'stall-body' }
  /** Wait, then serve the request normally. */
  | { kind: 'delay'; ms: number }
  /** An HTML error page, as a gateway in front of PingOne would send. */
  | { kind: 'html'; status: number }
  /** 200 with a JSON content type whose body ends mid-document. */
  | { kind: 'truncated' }
  /** Exactly this status and body (e.g. an unexpected shape, or a huge body). */
  | { kind: 'raw'; status: number; body: string; contentType?: string };

export type FaultMatch = { route?: RouteName; method?: string };

export type Fault = {
  match?: FaultMatch;
  /** How many matching requests suffer it; default 1, `Infinity` for all. */
  times?: number;
  action: FaultAction;
};

export type FaultController = {
  add(fault: Fault): void;
  clear(): void;
  /** Faults still queued (for asserting that a fault was consumed). */
  readonly pending: number;
};

type QueuedFault = { match: FaultMatch; remaining: number; action: FaultAction };

function validate(fault: Fault): void {
  const times = fault.times ?? 1;
  if (!(times >= 1) || (Number.isFinite(times) && !Number.isInteger(times))) {
    throw new RangeError(`fault.times must be a positive integer or Infinity, got ${String(times)}`);
  }
  const action = fault.action;
  if (action.kind === 'delay' && !(action.ms >= 0 && Number.isFinite(action.ms))) {
    throw new RangeError('delay fault needs a finite ms >= 0');
  }
  if ((action.kind === 'status' || action.kind === 'html' || action.kind === 'raw') && !(action.status >= 100 && action.status <= 599)) {
    throw new RangeError(`fault status must be 100-599, got ${String(action.status)}`);
  }
}

function matches(match: FaultMatch, route: RouteName, method: string): boolean {
  if (match.route !== undefined && match.route !== route) return false;
  if (match.method !== undefined && match.method.toUpperCase() !== method.toUpperCase()) return false;
  return true;
}

/** First-in first-out: the oldest matching fault fires first. */
export class FaultQueue implements FaultController {
  private readonly queue: QueuedFault[] = [];

  add(fault: Fault): void {
    validate(fault);
    this.queue.push({ match: { ...fault.match }, remaining: fault.times ?? 1, action: fault.action });
  }

  clear(): void {
    this.queue.length = 0;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Consumes one use of the first fault matching this request, if any. */
  take(route: RouteName, method: string): FaultAction | undefined {
    const index = this.queue.findIndex((f) => matches(f.match, route, method));
    const fault = this.queue[index];
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.queue.splice(index, 1);
    return fault.action;
  }
}
