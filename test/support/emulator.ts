import { setTimeout as sleep } from 'node:timers/promises';
import { startEmulator, type Emulator, type EmulatorOptions, type Exchange } from '../../src/sandbox/emulator.js';
import { jsonReply } from '../../src/sandbox/reply.js';
import type { RouteName } from '../../src/sandbox/routes.js';
import { serveActivities } from './activities.js';
import { FaultQueue, applyFault, p1ErrorForStatus, type FaultController } from './faults.js';
import { RollingRateLimiter } from './ratelimit.js';

/**
 * The demo emulator plus what only tests need, plugged in through its
 * `intercept` seam: queued faults, latency, a rate limit, PingOne's activities
 * endpoint, and the write answers PingOne's documentation leaves open.
 */

export type TestEmulatorOptions = Omit<EmulatorOptions, 'intercept'> & {
  /** Added before every response. */
  latencyMs?: number;
  /** Requests beyond this many in a rolling second get 429 REQUEST_LIMITED. */
  rateLimitPerSecond?: number;
  /**
   * Undocumented in PingOne: how a successful write answers. 'object' (the
   * default, as the docs' examples show): 200 with the resource; 'no-content': 204, no body.
   */
  writeAnswer?: 'object' | 'no-content';
};

export interface TestEmulator extends Emulator {
  readonly faults: FaultController;
}

const WRITE_ROUTES: ReadonlySet<RouteName> = new Set(['user.action', 'device.action', 'password.action']);

export async function startTestEmulator(options: TestEmulatorOptions = {}): Promise<TestEmulator> {
  const { latencyMs = 0, rateLimitPerSecond, writeAnswer = 'object', ...emulatorOptions } = options;
  if (!(latencyMs >= 0 && Number.isFinite(latencyMs))) throw new RangeError('latencyMs must be a finite number >= 0');
  const limiter = rateLimitPerSecond === undefined ? undefined : new RollingRateLimiter(rateLimitPerSecond);
  const faults = new FaultQueue();

  async function intercept(x: Exchange, emulator: Emulator): Promise<boolean> {
    // Decided on arrival, as PingOne's limiter and a failing network would.
    const fault = faults.take(x.request.route, x.request.method);
    const admitted = limiter === undefined || limiter.admit(Date.now());
    if (latencyMs > 0) await sleep(latencyMs, undefined, { signal: x.signal });
    if (fault !== undefined) {
      await applyFault(fault, x);
      return true;
    }
    if (!admitted) {
      x.send(jsonReply(429, p1ErrorForStatus(429), { 'retry-after': '1' }));
      return true;
    }
    if (serveActivities(x, emulator)) return true;
    if (writeAnswer === 'no-content' && WRITE_ROUTES.has(x.request.route)) {
      const answer = x.answer();
      const ok = answer.status >= 200 && answer.status < 300;
      x.send(ok ? { status: 204, headers: {}, body: '' } : answer);
      return true;
    }
    return false;
  }

  const emulator = await startEmulator({ ...emulatorOptions, intercept });
  return Object.assign(emulator, { faults });
}
