import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { readAudit } from '../support/harness.js';

/** The built binary, as an MCP client launches it. `npm test` builds first. */
const BIN = resolve(import.meta.dirname, '../../dist/index.js');

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'p1mcp-home-')), ...extra };
}

let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
});

describe.each(['legacy', 'modern'] as const)('the built binary over stdio (%s era)', (era) => {
  it('unlocks and unblocks in sandbox mode, logging to stderr only', async () => {
    const auditPath = join(mkdtempSync(join(tmpdir(), 'p1mcp-e2e-')), 'audit.jsonl');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, '--sandbox', '--audit-log', auditPath],
      env: baseEnv({ PINGONE_MCP_LOG_LEVEL: 'info' }),
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    client = new Client({ name: 'e2e', version: '1.0.0' }, era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {});
    await client.connect(transport);

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['find_user', 'list_user_devices', 'unlock_user', 'unblock_device', 'unlock_device']);

    const unlocked = await client.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-9' } });
    expect(unlocked.isError).toBeFalsy();
    expect(unlocked.structuredContent).toMatchObject({ outcome: 'unlocked', sandbox: true });

    const unblocked = await client.callTool({
      name: 'unblock_device',
      arguments: { user: 'jdoe', deviceId: DEMO_USERS.jdoe.blockedSmsDeviceId },
    });
    expect(unblocked.structuredContent).toMatchObject({ outcome: 'unblocked' });

    await client.close();
    client = undefined;
    // Every stderr line is a pino JSON record: nothing stray, and the start-up line says sandbox.
    const lines = stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(stderr).toContain('embedded PingOne sandbox');
    expect(stderr).not.toContain('audit record'); // mirroring the trail to stderr is opt-in
    expect(readAudit(auditPath).map((r) => r.outcome ?? r.phase)).toEqual(['intent', 'unlocked', 'intent', 'unblocked']);
  });
});

it('mirrors audit records to stderr when PINGONE_MCP_AUDIT_STDERR=true', async () => {
  const auditPath = join(mkdtempSync(join(tmpdir(), 'p1mcp-e2e-')), 'audit.jsonl');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, '--sandbox'],
    env: baseEnv({ PINGONE_MCP_AUDIT_LOG: auditPath, PINGONE_MCP_AUDIT_STDERR: 'true' }),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  client = new Client({ name: 'e2e', version: '1.0.0' });
  await client.connect(transport);
  await client.callTool({ name: 'unlock_user', arguments: { user: 'bsmith' } });
  await client.close();
  client = undefined;
  const mirrored = stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { msg: string; audit?: { hash: string } })
    .filter((line) => line.msg === 'audit record');
  expect(mirrored.map((line) => line.audit?.hash)).toEqual(readAudit(auditPath).map((r) => r.hash));
});

describe('start-up configuration errors', () => {
  function run(env: Record<string, string>, args: string[] = []) {
    return spawnSync(process.execPath, [BIN, ...args], { env: baseEnv(env), input: '', encoding: 'utf8', timeout: 10_000 });
  }

  it('exits non-zero with one line naming the missing variable, and nothing on stdout', () => {
    const result = run({});
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/PINGONE_ENVIRONMENT_ID is not set/);
    expect(lines[0]).toMatch(/--sandbox/);
  });

  it('never prints the secret, and shows no stack trace', () => {
    const secret = 'sup3r-s3cret-value-42';
    const result = run({
      PINGONE_ENVIRONMENT_ID: '2b0f3c1e-8d7a-4c55-9e0b-6f1a2d3c4b5a',
      PINGONE_CLIENT_ID: '7d1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6',
      PINGONE_CLIENT_SECRET: secret,
      PINGONE_API_URL: 'http://api.example.com/v1',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/PINGONE_API_URL must use https/);
    expect(result.stderr + result.stdout).not.toContain(secret);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints help and version', () => {
    const help = run({}, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--sandbox/);
    expect(help.stdout).toMatch(/audit verify/);
    const version = run({}, ['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('refuses to start with an unknown tool in the allow-list', () => {
    const result = run({ PINGONE_MCP_TOOLS: 'unlock_user,reset_password' }, ['--sandbox']);
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toMatch(/^pingone-helpdesk-mcp: PINGONE_MCP_TOOLS names unknown tools \(reset_password\)/);
  });

  it('serves only the lookups with --read-only', async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, '--sandbox', '--read-only'], env: baseEnv({ PINGONE_MCP_LOG_LEVEL: 'silent' }) });
    client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['find_user', 'list_user_devices']);
  });

  it.each(['--tools', '--confirm', '--audit-log', '--log-level'])('refuses %s with an empty value instead of falling back to the default', (flag) => {
    // An empty --tools used to offer every tool, writes included.
    for (const args of [[flag, ''], [`${flag}=`], [flag, '  ']]) {
      const result = run({ PINGONE_MCP_TOOLS: 'find_user' }, ['--sandbox', ...args]);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`pingone-helpdesk-mcp: ${flag} was given an empty value; give one (see --help) or leave the flag out\n`);
    }
  });

  it('rejects an unknown flag with usage on stderr', () => {
    const result = run({}, ['--frobnicate']);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/Unknown option/);
  });
});

it('over stdio, a trail whose last record does not verify refuses the first call with the reason, and is left as it was', async () => {
  const auditPath = join(mkdtempSync(join(tmpdir(), 'p1mcp-e2e-')), 'audit.jsonl');
  const first = new StdioClientTransport({ command: process.execPath, args: [BIN, '--sandbox', '--audit-log', auditPath], env: baseEnv({ PINGONE_MCP_LOG_LEVEL: 'silent' }) });
  client = new Client({ name: 'e2e', version: '1.0.0' });
  await client.connect(first);
  await client.callTool({ name: 'find_user', arguments: { user: 'bsmith' } });
  await client.close();
  // Someone edits the last record: its hash no longer matches.
  const tampered = readFileSync(auditPath, 'utf8').replace(/"tool":"find_user"(?![\s\S]*"tool":"find_user")/, '"tool":"unlock_user"');
  writeFileSync(auditPath, tampered);

  const second = new StdioClientTransport({ command: process.execPath, args: [BIN, '--sandbox', '--audit-log', auditPath], env: baseEnv({ PINGONE_MCP_LOG_LEVEL: 'silent' }) });
  client = new Client({ name: 'e2e', version: '1.0.0' });
  await client.connect(second);
  // The tail is checked by start-up or, at the latest, under the first call's lock: nothing is returned or written.
  const answer = await client.callTool({ name: 'find_user', arguments: { user: 'bsmith' } });
  expect(answer.isError).toBe(true);
  expect(JSON.stringify(answer.content)).toMatch(/does not verify/);
  expect(JSON.stringify(answer.content)).not.toContain('Bob Smith');
  expect(readFileSync(auditPath, 'utf8')).toBe(tampered);
});
