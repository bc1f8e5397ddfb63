import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/**
 * The operational log: pino, to stderr only (stdout carries MCP and nothing
 * else), written synchronously so a crash does not swallow the last line.
 * Secrets are redacted by path in case one is ever passed in by mistake.
 */
export function createLogger(level: LogLevel, destination: NodeJS.WritableStream | number = 2): Logger {
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino(
    {
      name: 'pingone-helpdesk-mcp',
      level,
      redact: {
        paths: ['clientSecret', '*.clientSecret', 'token', '*.token', 'authorization', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    stream,
  );
}
