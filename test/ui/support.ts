import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, InMemoryTransport, type ClientCapabilities } from '@modelcontextprotocol/client';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { assemble } from '../../src/app.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { settingsFor } from '../../src/sandbox/connect.js';
import { createServer } from '../../src/server.js';
import { startTestEmulator, type TestEmulator } from '../support/emulator.js';
import type { Era } from '../support/harness.js';

/** What a host that renders MCP Apps announces (the `io.modelcontextprotocol/ui` extension). */
export const UI_CAPABILITIES = { extensions: { 'io.modelcontextprotocol/ui': { mimeTypes: ['text/html;profile=mcp-app'] } } } as ClientCapabilities;

export interface Host {
  client: Client;
  emulator: TestEmulator;
  close(): Promise<void>;
}

/**
 * The real server and the emulator behind a real client that may announce the
 * UI extension, wired as test/support/harness.ts wires them (that harness has
 * no way to set the client's capabilities).
 */
export async function startHost(options: { era?: Era; capabilities?: ClientCapabilities; env?: Record<string, string> } = {}): Promise<Host> {
  const emulator = await startTestEmulator();
  const auditPath = join(mkdtempSync(join(tmpdir(), 'p1mcp-ui-')), 'audit.jsonl');
  const config = loadConfig(options.env ?? {}, { sandbox: true, auditLog: auditPath, logLevel: 'silent' });
  const parts = assemble({
    config,
    pingone: settingsFor(emulator),
    audit: await openAuditTrail(auditPath),
    logger: createLogger('silent'),
    sandbox: true,
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const handle = serveStdio(() => createServer(parts.deps), { transport: serverSide });
  const client = new Client(
    { name: 'ui-test-host', version: '1.0.0' },
    {
      ...(options.capabilities ? { capabilities: options.capabilities } : {}),
      ...(options.era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {}),
    },
  );
  await client.connect(clientSide);
  await client.listTools();
  return {
    client,
    emulator,
    async close() {
      await client.close().catch(() => {});
      await handle.close().catch(() => {});
      await parts.close();
      await emulator.close();
    },
  };
}
