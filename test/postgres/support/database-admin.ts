import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { migrate } from '../../../src/store/postgres/schema.js';

/**
 * One fresh database on a PostgreSQL server, migrated, with a runtime role
 * holding exactly the grants the README documents. No vitest import, so the
 * bench script uses it too.
 */

export interface TestDatabase {
  /** The owner's URL (the role that ran the migrations). */
  readonly ownerUrl: string;
  /** The server's role: only the runtime grants. */
  readonly runtimeUrl: string;
  readonly runtimeRole: string;
  readonly name: string;
  drop(): Promise<void>;
}

export function withUser(url: string, user: string, password: string | undefined, database?: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = password === undefined ? '' : encodeURIComponent(password);
  if (database !== undefined) parsed.pathname = `/${database}`;
  return parsed.href;
}

export async function createDatabase(adminUrl: string, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const suffix = randomBytes(6).toString('hex');
  const name = `pingone_mcp_test_${suffix}`;
  const runtimeRole = `pingone_mcp_runtime_${suffix}`;
  const runtimePassword = randomBytes(12).toString('hex');
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
    await admin.unsafe(`CREATE ROLE ${runtimeRole} LOGIN PASSWORD '${runtimePassword}'`);
  } finally {
    await admin.end();
  }
  const ownerUrl = withDatabase(adminUrl, name);
  if (options.migrate !== false) {
    const owner = postgres(ownerUrl, { max: 1, onnotice: () => {} });
    try {
      await migrate(owner, { grantTo: [runtimeRole] });
    } finally {
      await owner.end();
    }
  }
  return {
    ownerUrl,
    runtimeUrl: withUser(adminUrl, runtimeRole, runtimePassword, name),
    runtimeRole,
    name,
    drop: async () => {
      const again = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await again.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await again.unsafe(`DROP ROLE IF EXISTS ${runtimeRole}`);
      } finally {
        await again.end();
      }
    },
  };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.href;
}
