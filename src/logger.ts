import { createRequire } from 'node:module';
import type { Logger as PinoLogger, pino as createPino } from 'pino';
import type { LogLevel } from './config.js';

/** One log method: pino's call shapes that this code base uses. */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/** The operational log as the rest of the code sees it. */
export interface Logger {
  readonly level: LogLevel;
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
}

type Method = Exclude<LogLevel, 'silent'>;

const SEVERITY: Readonly<Record<LogLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Number.POSITIVE_INFINITY };

/** Lines below this severity may wait (at most LOAD_AFTER_MS) for pino to load; warn and above load it at once. */
const URGENT = SEVERITY.warn;
const LOAD_AFTER_MS = 250;

/**
 * The operational log: pino, to stderr only (stdout carries MCP and nothing
 * else), written synchronously so a crash does not swallow the last line.
 * Secrets are redacted by path in case one is ever passed in by mistake.
 *
 * pino (and what it pulls in) costs start-up time that the first tools/list
 * does not need, so it loads on first use: a warning or worse loads it on the
 * spot; an info or debug line logged during start-up is held, with its time,
 * and written by pino a moment later (or at exit), as the same JSON line.
 */
export function createLogger(level: LogLevel, destination: NodeJS.WritableStream | number = 2): Logger {
  const threshold = SEVERITY[level];
  let real: PinoLogger | undefined;
  let held: Array<{ method: Method; time: number; args: [object | string, string?] }> = [];
  /** The time pino stamps on the line being written: a held line keeps the time it was logged at. */
  let stamp: number | undefined;

  const load = (): PinoLogger => {
    if (real !== undefined) return real;
    const { pino } = loadPino();
    const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
    real = pino(
      {
        name: 'pingone-helpdesk-mcp',
        level,
        timestamp: () => `,"time":${stamp ?? Date.now()}`,
        redact: {
          paths: ['clientSecret', '*.clientSecret', 'token', '*.token', 'authorization', '*.authorization', 'headers.authorization'],
          censor: '[redacted]',
        },
      },
      stream,
    );
    const pending = held;
    held = [];
    for (const line of pending) write(real, line.method, line.args, line.time);
    return real;
  };

  const write = (target: PinoLogger, method: Method, args: [object | string, string?], time: number | undefined): void => {
    stamp = time;
    try {
      if (typeof args[0] === 'string') target[method](args[0]);
      else target[method](args[0], args[1]);
    } finally {
      stamp = undefined;
    }
  };

  const method = (name: Method): LogFn =>
    ((fields: object | string, message?: string) => {
      if (SEVERITY[name] < threshold) return;
      const args: [object | string, string?] = message === undefined ? [fields] : [fields, message];
      if (real !== undefined || SEVERITY[name] >= URGENT) return write(load(), name, args, undefined);
      if (held.length === 0) {
        setTimeout(load, LOAD_AFTER_MS).unref();
        process.once('exit', load);
      }
      held.push({ method: name, time: Date.now(), args });
    }) as LogFn;

  return { level, fatal: method('fatal'), error: method('error'), warn: method('warn'), info: method('info'), debug: method('debug'), trace: method('trace') };
}

/**
 * A literal require, so that esbuild bundles pino as a module evaluated on
 * this first call rather than at start-up; unbundled (tests, tsx) it resolves
 * from node_modules.
 */
function loadPino(): { pino: typeof createPino } {
  if (typeof require === 'function') return require('pino') as { pino: typeof createPino };
  return createRequire(import.meta.url)('pino') as { pino: typeof createPino };
}
