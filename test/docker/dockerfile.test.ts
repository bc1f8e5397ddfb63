import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentFor } from '../../src/sandbox/connect.js';
import { startEmulator, type Emulator } from '../../src/sandbox/emulator.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { makeKey, signToken, startTestIssuer, type SigningKey, type TestIssuer } from '../auth/testIssuer.js';
import { freePort } from '../support/ports.js';

/**
 * No container engine runs here, so this test plays the Dockerfile's runtime
 * stage by hand: it lays the files out in a temporary root exactly as the
 * COPY, WORKDIR, RUN mkdir/chown and VOLUME lines say (the build stage's
 * /src is this repository after `npm run build`), then runs the CMD and the
 * HEALTHCHECK as the USER with the ENV defaults. Absolute paths in ENV are
 * taken inside that root. A wrong path, a missing chown of the audit volume
 * or a health check that does not work fails it.
 */

const ROOT_DIR = resolve(import.meta.dirname, '../..');

interface Stage {
  name: string;
  workdir: string;
  env: Record<string, string>;
  user?: { uid: number; gid: number };
  copies: Array<{ from?: string; sources: string[]; dest: string; workdir: string }>;
  runs: string[];
  volumes: string[];
  healthcheck?: string[];
  cmd?: string[];
}

function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    const stage = stages.at(-1);
    switch (keyword.toUpperCase()) {
      case 'FROM':
        stages.push({ name: /\sAS\s+(\S+)/i.exec(rest)?.[1] ?? String(stages.length), workdir: '/', env: {}, copies: [], runs: [], volumes: [] });
        break;
      case 'WORKDIR':
        stage!.workdir = posix.resolve(stage!.workdir, rest);
        break;
      case 'ENV':
        for (const [, key, value] of rest.matchAll(/(\w+)=(\S+)/g)) stage!.env[key!] = value!;
        break;
      case 'COPY': {
        const parts = rest.split(/\s+/);
        const from = parts[0]?.startsWith('--from=') ? parts.shift()!.slice('--from='.length) : undefined;
        const dest = parts.pop()!;
        stage!.copies.push({ ...(from === undefined ? {} : { from }), sources: parts, dest, workdir: stage!.workdir });
        break;
      }
      case 'RUN':
        stage!.runs.push(rest);
        break;
      case 'USER': {
        const [uid, gid] = rest.split(':').map(Number);
        expect(Number.isInteger(uid) && uid! > 0, 'USER must be a numeric non-root uid[:gid]').toBe(true);
        stage!.user = { uid: uid!, gid: gid ?? uid! };
        break;
      }
      case 'VOLUME':
        stage!.volumes.push(...rest.split(/\s+/));
        break;
      case 'HEALTHCHECK':
        stage!.healthcheck = JSON.parse(/\bCMD\s+(\[.*\])$/.exec(rest)?.[1] ?? 'null') as string[];
        break;
      case 'CMD':
        stage!.cmd = JSON.parse(rest) as string[];
        break;
    }
  }
  return stages;
}

const stages = parseDockerfile(readFileSync(join(ROOT_DIR, 'Dockerfile'), 'utf8'));
const runtime = stages.at(-1)!;
let root: string;
let emulator: Emulator;
let issuer: TestIssuer;
let key: SigningKey;

/** Lays out the runtime stage's filesystem under `root`. */
function layOut(): void {
  root = mkdtempSync(join(tmpdir(), 'p1mcp-image-'));
  chmodSync(root, 0o755);
  const place = (from: string, to: string) => {
    expect(existsSync(from), `COPY source ${from} exists`).toBe(true);
    mkdirSync(dirname(to), { recursive: true });
    cpSync(from, to, { recursive: true });
  };
  for (const copy of runtime.copies) {
    const dest = posix.resolve(copy.workdir, copy.dest);
    for (const source of copy.sources) {
      let from: string;
      if (copy.from === undefined) from = join(ROOT_DIR, source);
      else {
        const build = stages.find((stage) => stage.name === copy.from);
        expect(build?.workdir, `the ${copy.from} stage works in /src, where this repository's build lands`).toBe('/src');
        expect(source.startsWith('/src/'), `COPY --from=${copy.from} takes from /src`).toBe(true);
        from = join(ROOT_DIR, source.slice('/src/'.length));
      }
      const target = copy.dest.endsWith('/') ? posix.join(dest, posix.basename(source)) : dest;
      place(from, join(root, target));
    }
  }
  for (const run of runtime.runs) {
    for (const command of run.split('&&').map((part) => part.trim())) {
      const mkdir = /^mkdir -p (\S+)$/.exec(command);
      const chown = /^chown (\d+):(\d+) (\S+)$/.exec(command);
      if (mkdir) mkdirSync(join(root, mkdir[1]!), { recursive: true, mode: 0o755 });
      else if (chown) spawnSync('chown', [`${chown[1]}:${chown[2]}`, join(root, chown[3]!)]);
      else throw new Error(`this test does not know how to play "RUN ${command}": teach it`);
    }
  }
  // The base image's node, where the official image has it.
  mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
  copyFileSync(process.execPath, join(root, 'usr/local/bin/node'));
  chmodSync(join(root, 'usr/local/bin/node'), 0o755);
  for (let dir = dirname(root); dir !== '/'; dir = dirname(dir)) expect(statSync(dir).mode & 0o001, `${dir} is traversable`).toBeTruthy();
}

/** The ENV defaults, with absolute paths taken inside the laid-out root, plus what `docker run -e` adds. */
function containerEnv(overrides: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: `${join(root, 'usr/local/bin')}:/usr/bin:/bin` };
  for (const [key, value] of Object.entries(runtime.env)) env[key] = value.startsWith('/') ? join(root, value) : value;
  return { ...env, ...overrides };
}

/** Runs a command of the image as its USER, in its WORKDIR. */
function runAsUser(command: string[], env: Record<string, string>) {
  const { uid, gid } = runtime.user!;
  return spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...command], { cwd: join(root, runtime.workdir), env, stdio: ['ignore', 'pipe', 'pipe'] });
}

function exitOf(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((done) => child.once('exit', (code) => done(code)));
}

beforeAll(async () => {
  expect(process.getuid?.(), 'this test switches users and must run as root (as CI does)').toBe(0);
  layOut();
  emulator = await startEmulator();
  issuer = await startTestIssuer();
  key = await makeKey('image-key');
  issuer.published = [key];
});
afterAll(async () => {
  await emulator?.close();
  await issuer?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the Dockerfile runtime stage', () => {
  it('is a non-root HTTP service with the audit trail on a volume', () => {
    expect(runtime.user!.uid).toBeGreaterThan(0);
    expect(runtime.env.PINGONE_MCP_HTTP).toBe('true');
    const auditDir = posix.dirname(runtime.env.PINGONE_MCP_AUDIT_LOG!);
    expect(runtime.volumes).toContain(auditDir);
    expect(statSync(join(root, auditDir)).uid).toBe(runtime.user!.uid);
    expect(runtime.cmd).toBeDefined();
    expect(runtime.healthcheck).toBeDefined();
  });

  it('with its ENV defaults alone, refuses to listen on every address without OAuth (exit 2)', async () => {
    const child = runAsUser(runtime.cmd!, containerEnv(environmentFor(emulator)));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    expect(await exitOf(child)).toBe(2);
    expect(stderr).toMatch(/PINGONE_MCP_HTTP_HOST=0\.0\.0\.0 .*PINGONE_MCP_RESOURCE/);
  });

  it('with PINGONE_MCP_RESOURCE and an issuer, serves OAuth-verified operators on every address as its user, writes the audit trail to the volume, and its HEALTHCHECK follows the server', async () => {
    const port = await freePort();
    const resource = `http://127.0.0.1:${port}/mcp`;
    // What `docker run -e` adds to the image's defaults: the resource and (here, a loopback) issuer; the host stays 0.0.0.0.
    const env = containerEnv({ ...environmentFor(emulator), PINGONE_MCP_HTTP_PORT: String(port), PINGONE_MCP_RESOURCE: resource, PINGONE_MCP_OAUTH_ISSUER: issuer.issuer });
    expect(env.PINGONE_MCP_HTTP_HOST).toBe('0.0.0.0');
    const server = runAsUser(runtime.cmd!, env);
    const exited = exitOf(server);
    let stderr = '';
    server.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    try {
      let health: number | null = 1;
      for (let i = 0; i < 30 && health !== 0; i++) {
        health = await exitOf(runAsUser(runtime.healthcheck!, env));
        if (health !== 0) await new Promise((r) => setTimeout(r, 200));
      }
      expect(health, stderr).toBe(0);

      expect((await fetch(resource, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
      const token = await signToken({ key, issuer: issuer.issuer, audience: resource, subject: DEMO_USERS.bsmith.id, claims: { scope: 'helpdesk:read helpdesk:write', preferred_username: 'bsmith' } });
      const client = new Client({ name: 'image-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider: { token: async () => token } }));
      const result = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-7' } });
      expect((result.structuredContent as Record<string, unknown>).outcome).toBe('unlocked');
      await client.close();

      const auditFile = join(root, runtime.env.PINGONE_MCP_AUDIT_LOG!);
      expect(statSync(auditFile).uid).toBe(runtime.user!.uid);
      expect(readFileSync(auditFile, 'utf8').trim().split('\n')).toHaveLength(2);
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(await exitOf(runAsUser(runtime.healthcheck!, env))).toBe(1);
  });
});
