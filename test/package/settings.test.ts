import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SECRET_VARIABLES } from '../../src/secretFiles.js';

/**
 * An admin who installs the Claude Desktop extension (.mcpb) or finds the
 * server in the MCP Registry must be offered every guard the server has. The
 * list of guards is `--help`'s: a guard added there and forgotten in either
 * manifest fails here.
 */

const ROOT = resolve(import.meta.dirname, '../..');

function helpGuards(): Map<string, string | undefined> {
  const help = spawnSync(process.execPath, [join(ROOT, 'dist', 'index.js'), '--help'], { encoding: 'utf8' });
  expect(help.status, help.stderr).toBe(0);
  const block = /^\s*guards:\s+([\s\S]*?)^\s*\w+:\s/m.exec(help.stdout);
  expect(block, '--help has a "guards:" block').not.toBeNull();
  const guards = new Map<string, string | undefined>();
  // "PINGONE_MCP_MAX_WRITES_PER_MINUTE (10)": a number in parentheses is the default.
  for (const match of block![1]!.matchAll(/(PINGONE_MCP_[A-Z_]+)(?: \((\d+)\))?/g)) guards.set(match[1]!, match[2]);
  return guards;
}

describe('guard settings offered by the client manifests', () => {
  const guards = helpGuards();

  it('--help lists the guards (so the checks below check something)', () => {
    expect([...guards.keys()]).toEqual(expect.arrayContaining(['PINGONE_MCP_READ_ONLY', 'PINGONE_MCP_PROTECTED_USERS', 'PINGONE_MCP_CONFIRM']));
  });

  it('manifest.json (.mcpb): a user setting for each guard, passed to the server, with the same default', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8')) as {
      server: { mcp_config: { env: Record<string, string> } };
      user_config: Record<string, { type: string; description: string; required?: boolean; default?: unknown }>;
    };
    for (const [name, helpDefault] of guards) {
      const reference = /^\$\{user_config\.([a-z_]+)\}$/.exec(manifest.server.mcp_config.env[name] ?? '');
      expect(reference, `${name} is set from a user setting in mcp_config.env`).not.toBeNull();
      const setting = manifest.user_config[reference![1]!];
      expect(setting, `user_config.${reference![1]} exists`).toBeDefined();
      expect(setting!.required ?? false, `${name} is optional`).toBe(false);
      expect(setting!.description.length).toBeGreaterThan(20);
      if (helpDefault !== undefined) expect(String(setting!.default)).toBe(helpDefault);
    }
  });

  it('server.json (MCP Registry): an optional environment variable for each guard, with the same default', () => {
    const server = JSON.parse(readFileSync(join(ROOT, 'server.json'), 'utf8')) as {
      packages: Array<{ environmentVariables: Array<{ name: string; description: string; isRequired?: boolean; default?: string }> }>;
    };
    const variables = new Map(server.packages[0]!.environmentVariables.map((v) => [v.name, v]));
    for (const [name, helpDefault] of guards) {
      const variable = variables.get(name);
      expect(variable, `${name} is declared`).toBeDefined();
      expect(variable!.isRequired).toBe(false);
      if (helpDefault !== undefined) expect(variable!.default).toBe(helpDefault);
    }
  });
});

describe('--help names every setting', () => {
  it('each PINGONE_ variable config.ts and config/ read, and the _FILE twin of each secret, is in --help', () => {
    const help = spawnSync(process.execPath, [join(ROOT, 'dist', 'index.js'), '--help'], { encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    const sources = ['config.ts', ...readdirSync(join(ROOT, 'src', 'config')).map((file) => join('config', file))];
    const read = new Set(sources.flatMap((file) => readFileSync(join(ROOT, 'src', file), 'utf8').match(/\bPINGONE_[A-Z0-9_]+\b/g) ?? []));
    const names = [...read, ...SECRET_VARIABLES.map((name) => `${name}_FILE`)];
    expect(names.length).toBeGreaterThan(30);
    const missing = names.filter((name) => !new RegExp(`\\b${name}\\b`).test(help.stdout));
    expect(missing).toEqual([]);
  });
});
