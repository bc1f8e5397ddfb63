import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { parseUuid } from '../../../src/ids.js';
import { demoSeed, type SandboxSeed } from '../../../src/sandbox/seed.js';

/**
 * What the HTTP replica tests run: the built binary with --http, several at
 * once on one database, and a demo directory with as many locked users as
 * the test makes writes.
 */

const BIN = resolve(import.meta.dirname, '../../../dist/index.js');

export interface Replica {
  readonly name: string;
  /** The MCP endpoint, from the start-up log line. */
  readonly url: Promise<URL>;
  readonly exited: Promise<number | null>;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
}

/** The built binary with --http on loopback, as a service manager starts it. */
export function startReplica(name: string, env: Record<string, string>): Replica {
  const child: ChildProcess = spawn(process.execPath, [BIN, '--http'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: mkdtempSync(join(tmpdir(), 'p1mcp-replica-')),
      PINGONE_MCP_HTTP_PORT: '0',
      PINGONE_MCP_LOG_LEVEL: 'info',
      PINGONE_MCP_CONFIRM: 'never',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const url = new Promise<URL>((resolveUrl, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
      const found = /"url":"([^"]+)"/.exec(err);
      if (found?.[1]) resolveUrl(new URL(found[1]));
    });
    child.once('exit', () => reject(new Error(`replica ${name} exited before listening: ${err.slice(0, 800)}`)));
  });
  url.catch(() => {});
  return {
    name,
    url,
    exited: new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code))),
    stderr: () => err,
    kill: (signal) => child.kill(signal),
  };
}

/** Polls /readyz until it answers `status` (the first token fetched, or the trail's state changed); false if it never does. */
export async function waitForReady(url: URL, status: 200 | 503, attempts = 150): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    const answer = await fetch(new URL('/readyz', url)).then(
      (response) => response.status,
      () => 0,
    );
    if (answer === status) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** `name` is the client name the audit records (`name/1.0.0`): tests use it to tell whose calls a record holds. */
export async function connectClient(url: URL, token?: string, name = 'replica-test'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url, token === undefined ? {} : { authProvider: { token: async () => token } }));
  return client;
}

/** The demo directory plus `count` locked users named r0 … r(count-1), so that every call is a real write. */
export function seedWithLockedUsers(count: number): SandboxSeed {
  const seed = demoSeed();
  const template = seed.users.find((user) => user.username === 'jdoe')!;
  for (let i = 0; i < count; i++) {
    const hex = i.toString(16).padStart(12, '0');
    seed.users.push({
      ...structuredClone(template),
      id: parseUuid(`00000000-0000-4000-8000-${hex}`)!,
      username: `r${i}`,
      email: `r${i}@example.com`,
    });
  }
  return seed;
}

/** The result of a tool call as the test judges it: its outcome, or the error text the client saw. */
export interface CallAnswer {
  readonly outcome?: string;
  readonly error?: string;
}

export async function unlock(client: Client, user: string, reason: string): Promise<CallAnswer> {
  try {
    const result = await client.callTool({ name: 'unlock_user', arguments: { user, reason } });
    const structured = result.structuredContent as Record<string, unknown> | undefined;
    const text = (result.content as { type: string; text?: string }[] | undefined)?.map((part) => part.text ?? '').join(' ') ?? '';
    if (result.isError === true) return { error: text, ...(typeof structured?.outcome === 'string' ? { outcome: structured.outcome } : {}) };
    return { outcome: String(structured?.outcome) };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
