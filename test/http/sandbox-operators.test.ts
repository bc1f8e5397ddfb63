import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auth, Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { TestClientProvider } from '../auth/clientProvider.js';
import { readAudit } from '../support/harness.js';
import { startHttpBinary } from './httpBinary.js';
import { structuredOf } from './support.js';

/**
 * The built binary with `--sandbox --http`: the official client completes the
 * OAuth flow against the sandbox's authorization server as each fictional
 * operator, and the tools treat them as the issue asks.
 */
const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

async function startSandbox(): Promise<{ url: URL; auditPath: string }> {
  const auditPath = join(mkdtempSync(join(tmpdir(), 'p1mcp-sbx-')), 'audit.jsonl');
  const server = startHttpBinary(['--sandbox', '--http'], { PINGONE_MCP_AUDIT_LOG: auditPath, PINGONE_MCP_CONFIRM: 'never' });
  return { url: await server.url, auditPath };
}

/** Signs in as `operator` through the whole flow (discovery from the 401, registration, PKCE), then connects. */
async function connectAs(url: URL, operator: string): Promise<Client> {
  const provider = new TestClientProvider(operator);
  expect(await auth(provider, { serverUrl: url })).toBe('REDIRECT');
  const callback = provider.callback!;
  const code = callback.searchParams.get('code') ?? '';
  expect(await auth(provider, { serverUrl: url, authorizationCode: code, iss: callback.searchParams.get('iss') ?? '' })).toBe('AUTHORIZED');
  const client = new Client({ name: `sandbox-${operator}`, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  stops.push(() => void client.close());
  return client;
}

describe('--sandbox --http with its authorization server', () => {
  it('ops1 (read only) sees and does only reads, its write is refused and recorded; bsmith cannot unlock bsmith but unlocks jdoe as the verified operator', async () => {
    const { url, auditPath } = await startSandbox();
    const reader = await connectAs(url, 'ops1');
    expect((await reader.listTools()).tools.map((tool) => tool.name).sort()).toEqual(['find_user', 'list_user_devices']);
    expect(structuredOf(await reader.callTool({ name: 'find_user', arguments: { query: 'jdoe' } })).outcome).toBe('found');
    await expect(reader.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-1' } })).rejects.toThrow();
    expect(readAudit(auditPath).filter((record) => record.tool === 'unlock_user')).toMatchObject([{ outcome: 'denied', actor: { operator: 'ops1', verified: { subject: DEMO_USERS.ops1.id } } }]);

    const writer = await connectAs(url, 'bsmith');
    expect(structuredOf(await writer.callTool({ name: 'unlock_user', arguments: { user: 'bsmith', reason: 'INC-2' } }))).toMatchObject({ outcome: 'denied', error: { code: 'SELF_CHANGE' } });
    const unlocked = structuredOf(await writer.callTool({ name: 'unlock_user', arguments: { user: 'jdoe', reason: 'INC-3' } }));
    expect(unlocked.outcome).toBe('unlocked');
    const records = readAudit(auditPath).filter((record) => record.auditId === unlocked.auditId);
    expect(records.length).toBeGreaterThanOrEqual(2);
    for (const record of records) expect(record.actor).toMatchObject({ operator: 'bsmith', verified: { subject: DEMO_USERS.bsmith.id } });
  });
});
