import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach } from 'vitest';

const BIN = resolve(import.meta.dirname, '../../dist/index.js');

export interface RunningBinary {
  /** The listener's URL, from the start-up log line; rejects when the binary exits first. */
  url: Promise<URL>;
  stderr(): string;
  stdout(): string;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

const running: RunningBinary[] = [];
afterEach(() => {
  for (const server of running.splice(0)) server.kill('SIGKILL');
});

/**
 * The built binary with --http, as a service manager starts it: a fresh HOME,
 * an ephemeral port and `info` logging unless `env` says otherwise. Killed
 * after the test that started it.
 */
export function startHttpBinary(args: string[], env: Record<string, string>): RunningBinary {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'p1mcp-home-')), PINGONE_MCP_HTTP_PORT: '0', PINGONE_MCP_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const url = new Promise<URL>((resolveUrl, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
      const found = /"url":"([^"]+)"/.exec(err);
      if (found?.[1]) resolveUrl(new URL(found[1]));
    });
    child.once('exit', () => reject(new Error(`exited before listening: ${err.slice(0, 500)}`)));
  });
  url.catch(() => {});
  const server: RunningBinary = {
    url,
    stderr: () => err,
    stdout: () => out,
    exited: new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code))),
    kill: (signal) => child.kill(signal),
  };
  running.push(server);
  return server;
}
