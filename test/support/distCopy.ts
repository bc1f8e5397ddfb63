import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, beforeEach } from 'vitest';
import { environmentFor } from '../../src/sandbox/connect.js';
import { startTestEmulator, type TestEmulator } from './emulator.js';

const DIST = resolve(import.meta.dirname, '../../dist');

export interface DistCopy {
  readonly emulator: TestEmulator;
  /** The test's folder: `dist/` (the copy), the audit trail, HOME. */
  readonly work: string;
  readonly dist: string;
  readonly auditPath: string;
  /** The copy's binary over stdio in tenant mode against the emulator, with `env` added; closed after the test. */
  connect(name: string, env: Record<string, string>): Promise<{ client: Client; transport: StdioClientTransport }>;
}

/**
 * For tests that change the built binary (a chunk removed, the listing edited): each test
 * gets its own copy of dist/ in a fresh folder and an emulator of its own. `npm test` builds dist/ first.
 */
export function distCopyPerTest(prefix: string): DistCopy {
  let emulator: TestEmulator | undefined;
  let work = '';
  let client: Client | undefined;
  beforeEach(async () => {
    emulator = await startTestEmulator();
    work = mkdtempSync(join(tmpdir(), prefix));
    cpSync(DIST, join(work, 'dist'), { recursive: true });
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await emulator?.close();
    rmSync(work, { recursive: true, force: true });
  });
  return {
    get emulator() {
      return emulator!;
    },
    get work() {
      return work;
    },
    get dist() {
      return join(work, 'dist');
    },
    get auditPath() {
      return join(work, 'audit.jsonl');
    },
    async connect(name, env) {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [join(work, 'dist', 'index.js')],
        env: { PATH: process.env.PATH ?? '', HOME: work, ...environmentFor(emulator!), PINGONE_MCP_AUDIT_LOG: join(work, 'audit.jsonl'), ...env },
        stderr: 'pipe',
      });
      client = new Client({ name, version: '1.0.0' });
      await client.connect(transport);
      return { client, transport };
    },
  };
}
