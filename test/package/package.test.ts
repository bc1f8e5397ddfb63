import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sandbox/emulator.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';

/**
 * The package as users get it: `npm pack`, installed offline into an empty
 * folder, then started the way each client's configuration starts it, with the
 * real MCP client. `npm test` builds dist/ first; this test never rebuilds it
 * (other test files read it at the same time).
 */

const ROOT = resolve(import.meta.dirname, '../..');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; mcpName: string; bin: Record<string, string> };
/** The Node running the tests comes first on PATH, so `#!/usr/bin/env node` and npx children use it too. */
const PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

let work: string;
let app: string;
let installed: string;
let tarballFiles: string[];

/** npm's own settings from `npm test` (npm_config_*, npm_lifecycle_*) must not leak into the installs. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH };
  for (const key of Object.keys(env)) {
    if (/^npm_/i.test(key) && !/^npm_config_(cache|userconfig)$/i.test(key)) delete env[key];
  }
  return env;
}

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, env: npmEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is not built: run `npm test` (it builds first) or `npm run build`');
  work = mkdtempSync(join(tmpdir(), 'p1mcp-pkg-'));
  // --ignore-scripts: prepack would rebuild dist/ under the other tests' feet.
  const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarballFiles = packed!.files.map((f) => f.path).sort();
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{ "name": "empty-app", "private": true }\n');
  // Offline: a bundled package has nothing to fetch, so this works with an empty cache too.
  npm(['install', '--offline', '--no-audit', '--no-fund', join(work, packed!.filename)], app);
  installed = join(app, 'node_modules', PKG.name);
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it("holds only what runs: the bundle (pino and the SDK's validator as CommonJS files), its maps and licences, the docs and the client manifests", () => {
    const allowed = /^(dist\/.+\.(js|js\.map)|dist\/chunks\/(pino|ajv)\.cjs|dist\/THIRD-PARTY-LICENSES\.txt|README\.md|LICENSE|package\.json|mcp\.json\.example|\.vscode\/mcp\.json\.example|server\.json|manifest\.json)$/;
    expect(tarballFiles.filter((file) => !allowed.test(file))).toEqual([]);
    expect(tarballFiles).toContain('dist/index.js');
    expect(tarballFiles).toContain('dist/THIRD-PARTY-LICENSES.txt');
    expect(tarballFiles).toContain('dist/chunks/pino.cjs');
    expect(tarballFiles).toContain('dist/chunks/ajv.cjs');
    // The README points VS Code users at it: it must be in the package they install.
    expect(tarballFiles).toContain('.vscode/mcp.json.example');
    expect(tarballFiles.some((file) => file.endsWith('.ts'))).toBe(false);
  });

  it('installs offline with no dependencies, and its bin is an executable Node script', () => {
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies?: object };
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(readdirSync(join(app, 'node_modules')).filter((name) => !name.startsWith('.'))).toEqual([PKG.name]);
    const bin = readFileSync(join(installed, PKG.bin[PKG.name]!), 'utf8');
    expect(bin.startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('has source maps for our code only, and they resolve to src/', () => {
    const maps = tarballFiles.filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const file of maps) {
      const map = JSON.parse(readFileSync(join(installed, file), 'utf8')) as { sources: string[] };
      for (const source of map.sources) expect(source).toMatch(/(^|\/)src\/.+\.ts$/);
    }
  });

  it('reports its version from the bundle, not from a package.json read at run time', () => {
    const result = spawnSync(join(app, 'node_modules', '.bin', PKG.name), ['--version'], { env: { PATH }, encoding: 'utf8' });
    expect(result.stdout.trim()).toBe(PKG.version);
  });
});

describe('the installed bin over stdio (sandbox)', () => {
  it('unlocks jdoe through a real MCP client, and its audit trail verifies', async () => {
    const home = mkdtempSync(join(work, 'home-'));
    const auditLog = join(home, 'audit.jsonl');
    const client = new Client({ name: 'package-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: join(app, 'node_modules', '.bin', PKG.name),
        args: ['--sandbox', '--audit-log', auditLog],
        env: { PATH, HOME: home, PINGONE_MCP_LOG_LEVEL: 'warn' },
        stderr: 'pipe',
      }),
    );
    try {
      const result = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'PKG-1' } });
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({ outcome: 'unlocked', sandbox: true });
    } finally {
      await client.close();
    }
    // The audit CLI is a chunk of its own, loaded only for `audit …`.
    const verify = spawnSync(join(app, 'node_modules', '.bin', PKG.name), ['audit', 'verify', auditLog], { env: { PATH, HOME: home }, encoding: 'utf8' });
    expect(verify.status, verify.stderr).toBe(0);
  });
});

/** A client configuration reduced to what it spawns. */
interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

describe('every client configuration starts the installed package', () => {
  let emulator: Emulator;
  let lockedJdoe: ReturnType<Emulator['getUser']>;

  beforeAll(async () => {
    emulator = await startEmulator();
    lockedJdoe = emulator.getUser(DEMO_USERS.jdoe.id);
  });
  afterAll(async () => {
    await emulator?.close();
  });

  /** What a person types in place of the placeholders, here the emulator's tenant. */
  function fillIn(env: Record<string, string>): Record<string, string> {
    const filled = { ...env };
    expect(Object.keys(filled)).toEqual(expect.arrayContaining(['PINGONE_ENVIRONMENT_ID', 'PINGONE_CLIENT_ID', 'PINGONE_CLIENT_SECRET']));
    filled.PINGONE_ENVIRONMENT_ID = emulator.environmentId;
    filled.PINGONE_CLIENT_ID = emulator.clientId;
    filled.PINGONE_CLIENT_SECRET = emulator.clientSecret;
    return filled;
  }

  /**
   * Starts what the configuration starts, from the folder where the package is
   * installed (so `npx -y pingone-helpdesk-mcp` finds it without the registry),
   * pointed at the emulator, and unlocks jdoe through it.
   */
  async function unlockThrough(launch: Launch): Promise<void> {
    emulator.putUser(lockedJdoe!);
    const home = mkdtempSync(join(work, 'home-'));
    const client = new Client({ name: 'package-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: launch.command,
        args: launch.args,
        cwd: app,
        env: {
          ...launch.env,
          PATH,
          HOME: home,
          PINGONE_API_URL: emulator.apiUrl,
          PINGONE_AUTH_URL: emulator.authUrl,
          PINGONE_MCP_LOG_LEVEL: 'warn',
          npm_config_offline: 'true',
          ...(process.env.npm_config_cache ? { npm_config_cache: process.env.npm_config_cache } : {}),
        },
        stderr: 'pipe',
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('unlock_user');
      const result = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'PKG-2' } });
      expect(result.structuredContent).toMatchObject({ outcome: 'unlocked', sandbox: false });
    } finally {
      await client.close();
    }
  }

  it('mcp.json.example (Claude Desktop, Cursor)', async () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'mcp.json.example'), 'utf8')) as { mcpServers: Record<string, Launch> };
    const [server] = Object.values(config.mcpServers);
    expect(server).toMatchObject({ command: 'npx', args: ['-y', PKG.name] });
    await unlockThrough({ ...server!, env: fillIn(server!.env) });
  }, 30_000);

  it('.vscode/mcp.json.example (VS Code): the secret is a promptString input', async () => {
    const config = JSON.parse(readFileSync(join(ROOT, '.vscode', 'mcp.json.example'), 'utf8')) as {
      inputs: Array<{ type: string; id: string; password?: boolean }>;
      servers: Record<string, Launch & { type: string }>;
    };
    const [server] = Object.values(config.servers);
    expect(server).toMatchObject({ type: 'stdio', command: 'npx', args: ['-y', PKG.name] });
    const secret = /^\$\{input:([^}]+)\}$/.exec(server!.env.PINGONE_CLIENT_SECRET ?? '');
    expect(secret, 'PINGONE_CLIENT_SECRET must be ${input:…}').not.toBeNull();
    expect(config.inputs).toContainEqual(expect.objectContaining({ type: 'promptString', id: secret![1], password: true }));
    await unlockThrough({ command: server!.command, args: server!.args, env: fillIn(server!.env) });
  }, 30_000);

  it("the README's `claude mcp add` line (Claude Code)", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const line = /```sh\n(claude mcp add [\s\S]*?)\n```/.exec(readme)?.[1];
    expect(line, 'README has a ```sh block starting with claude mcp add').toBeDefined();
    const words = line!.replace(/\\\n/g, ' ').trim().split(/\s+/);
    const separator = words.indexOf('--');
    expect(words[3], 'a server name after `claude mcp add`').toMatch(/^[\w-]+$/);
    const env: Record<string, string> = {};
    for (let i = 4; i < separator; i++) {
      if (words[i] === '--env' || words[i] === '-e') {
        const [key, ...value] = words[++i]!.split('=');
        env[key!] = value.join('=');
      } else if (words[i]!.startsWith('--scope') || words[i] === '-s') {
        if (!words[i]!.includes('=')) i++;
      } else {
        throw new Error(`unexpected word in the claude mcp add line: ${words[i]}`);
      }
    }
    const [command, ...args] = words.slice(separator + 1);
    expect([command, ...args]).toEqual(['npx', '-y', PKG.name]);
    await unlockThrough({ command: command!, args, env: fillIn(env) });
  }, 30_000);

  it('server.json (MCP Registry): what a registry client runs for the npm package', async () => {
    const server = JSON.parse(readFileSync(join(ROOT, 'server.json'), 'utf8')) as {
      $schema: string;
      name: string;
      description: string;
      version: string;
      packages: Array<{
        registryType: string;
        identifier: string;
        version: string;
        runtimeHint?: string;
        transport: { type: string };
        environmentVariables: Array<{ name: string; isRequired?: boolean; isSecret?: boolean; default?: string }>;
      }>;
    };
    expect(server.$schema).toBe('https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json');
    expect(server.name).toBe(PKG.mcpName);
    expect(server.name).toMatch(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/);
    expect(server.description.length).toBeLessThanOrEqual(100);
    expect(server.version).toBe(PKG.version);
    expect(server.packages).toHaveLength(1);
    const [npmPackage] = server.packages;
    expect(npmPackage).toMatchObject({ registryType: 'npm', identifier: PKG.name, version: PKG.version, transport: { type: 'stdio' } });
    // The schema allows no other keys on a package.
    const packageKeys = ['registryType', 'registryBaseUrl', 'identifier', 'version', 'fileSha256', 'runtimeHint', 'transport', 'runtimeArguments', 'packageArguments', 'environmentVariables'];
    expect(Object.keys(npmPackage!).filter((key) => !packageKeys.includes(key))).toEqual([]);
    const variables = new Map(npmPackage!.environmentVariables.map((v) => [v.name, v]));
    expect(variables.get('PINGONE_CLIENT_SECRET')).toMatchObject({ isRequired: true, isSecret: true });
    for (const required of ['PINGONE_ENVIRONMENT_ID', 'PINGONE_CLIENT_ID']) expect(variables.get(required)).toMatchObject({ isRequired: true });
    // Every variable it names is one the server reads (the README's configuration table lists them).
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const name of variables.keys()) expect(readme).toMatch(new RegExp(`\`${name}[\`=]`));
    // A registry client runs `npx -y <identifier>@<version>` with the required variables and the defaults.
    const env: Record<string, string> = {};
    for (const v of variables.values()) if (v.default !== undefined) env[v.name] = v.default;
    await unlockThrough({ command: 'npx', args: ['-y', `${npmPackage!.identifier}@${npmPackage!.version}`], env: fillIn({ ...env, PINGONE_ENVIRONMENT_ID: '', PINGONE_CLIENT_ID: '', PINGONE_CLIENT_SECRET: '' }) });
  }, 30_000);

  it('manifest.json (.mcpb for Claude Desktop): validates, packs, and its mcp_config starts the unpacked bundle', async () => {
    const mcpb = join(ROOT, 'node_modules', '@anthropic-ai', 'mcpb', 'dist', 'cli', 'cli.js');
    const validate = spawnSync(process.execPath, [mcpb, 'validate', join(ROOT, 'manifest.json')], { encoding: 'utf8' });
    expect(validate.status, validate.stdout + validate.stderr).toBe(0);

    const manifest = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8')) as {
      version: string;
      server: { type: string; entry_point: string; mcp_config: Launch };
      user_config: Record<string, { required?: boolean; sensitive?: boolean; default?: string | number | boolean }>;
    };
    expect(manifest.version).toBe(PKG.version);
    expect(manifest.server.type).toBe('node');
    expect(manifest.user_config.client_secret).toMatchObject({ sensitive: true, required: true });

    // The installed npm package is a complete bundle directory: pack it as Claude Desktop receives it, and unpack.
    const bundleFile = join(work, `${PKG.name}.mcpb`);
    const pack = spawnSync(process.execPath, [mcpb, 'pack', installed, bundleFile], { encoding: 'utf8', input: '' });
    expect(pack.status, pack.stdout + pack.stderr).toBe(0);
    const unpacked = join(work, 'unpacked');
    const unpack = spawnSync(process.execPath, [mcpb, 'unpack', bundleFile, unpacked], { encoding: 'utf8', input: '' });
    expect(unpack.status, unpack.stdout + unpack.stderr).toBe(0);
    expect(existsSync(join(unpacked, manifest.server.entry_point))).toBe(true);

    // Claude Desktop's substitutions: ${__dirname} and ${user_config.x} (the user's answers, else the defaults).
    const answers: Record<string, string> = { environment_id: 'x', client_id: 'x', client_secret: 'x' };
    const substitute = (text: string): string =>
      text.replaceAll('${__dirname}', unpacked).replace(/\$\{user_config\.([a-z_]+)\}/g, (_, key: string) => {
        const entry = manifest.user_config[key];
        expect(entry, `user_config.${key} is declared`).toBeDefined();
        return String(answers[key] ?? entry!.default ?? '');
      });
    const { command, args, env } = manifest.server.mcp_config;
    expect(command).toBe('node');
    await unlockThrough({
      command: process.execPath,
      args: args.map(substitute),
      env: fillIn(Object.fromEntries(Object.entries(env).map(([key, value]) => [key, substitute(value)]))),
    });
  }, 30_000);
});
