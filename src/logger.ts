import { createRequire } from 'node:module';
import type { Logger as PinoLogger, LoggerOptions } from 'pino';
import type { LogLevel } from './config.js';

/** What the server logs through: pino's level methods (a pino logger is one). */
export interface Logger {
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
}
type LogFn = { (data: object, message?: string): void; (message: string): void };

/**
 * A logger that does not load pino at start-up. Its one held line (the start-up
 * line) is written through pino at the first other line, or when the process
 * exits, whichever comes first.
 */
export interface StartupLogger extends Logger {
  /** The start-up line (level info): held, so that answering the first requests does not wait for pino. */
  startupLine(data: object, message: string): void;
}

// Set by the bundler (build.mjs): pino is bundled on its own as CommonJS, so that it can be
// loaded synchronously when it is first needed (an exit handler cannot wait for an import).
declare const __PINO_CHUNK__: string | undefined;

// pino's level numbers, known without loading pino (which is the point of StartupLogger).
const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const satisfies Record<LogLevel, number>;

/**
 * The operational log: pino, to stderr only (stdout carries MCP and nothing
 * else), written synchronously so a crash does not swallow the last line.
 * Secrets are redacted by path in case one is ever passed in by mistake.
 */
export function createLogger(level: LogLevel, destination: NodeJS.WritableStream | number = 2): PinoLogger {
  return pinoLogger(level, destination, () => Date.now());
}

/** `createLogger(level)` for stdio start-up: see StartupLogger. */
export function createStartupLogger(level: LogLevel): StartupLogger {
  let held: { time: number; data: object; message: string } | undefined;
  let loaded: Logger | undefined;
  const load = (): Logger => {
    if (loaded) return loaded;
    process.removeListener('exit', load);
    // A held line keeps the time it was logged at: the clock reads it while that line is written.
    loaded = pinoOrNothing(level, () => held?.time ?? Date.now());
    if (held) {
      loaded.info(held.data, held.message);
      held = undefined;
    }
    return loaded;
  };
  const at = (method: keyof Logger): LogFn =>
    ((...args: Parameters<LogFn>) => {
      if (LEVELS[method] < LEVELS[level]) return;
      (load()[method] as (...a: Parameters<LogFn>) => void)(...args);
    }) as LogFn;
  return {
    startupLine(data: object, message: string): void {
      if (LEVELS.info < LEVELS[level]) return;
      if (loaded || held) return void load().info(data, message);
      held = { time: Date.now(), data, message };
      process.on('exit', load);
    },
    fatal: at('fatal'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
  };
}

/**
 * pino loaded now, or, when it cannot be (its file gone from under a running server: an npx cache
 * cleaned, a package removed), one plain line saying so and a logger that drops lines: a log call must
 * never throw into a tool call or an exit handler.
 */
function pinoOrNothing(level: LogLevel, now: () => number): Logger {
  try {
    return pinoLogger(level, 2, now);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    process.stderr.write(`pingone-helpdesk-mcp: cannot load its log writer (${typeof code === 'string' ? code : 'load error'}); log lines are dropped from now on. Reinstall the package and restart the server.\n`);
    const drop: LogFn = () => {};
    return { fatal: drop, error: drop, warn: drop, info: drop, debug: drop, trace: drop };
  }
}

function pinoLogger(level: LogLevel, destination: NodeJS.WritableStream | number, now: () => number): PinoLogger {
  const { pino } = requirePino();
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  const options: LoggerOptions = {
    name: 'pingone-helpdesk-mcp',
    level,
    timestamp: () => `,"time":${now()}`,
    redact: {
      paths: ['clientSecret', '*.clientSecret', 'token', '*.token', 'authorization', '*.authorization', 'headers.authorization'],
      censor: '[redacted]',
    },
  };
  return pino(options, stream);
}

function requirePino(): typeof import('pino') {
  return createRequire(import.meta.url)(typeof __PINO_CHUNK__ === 'string' ? __PINO_CHUNK__ : 'pino') as typeof import('pino');
}
