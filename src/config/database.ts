import { SecretFileError, withSecretFiles, type SecretVariable } from '../secretFiles.js';
import { ConfigError, nonEmpty } from './values.js';

/** The database replicas share (audit trail, write limits, spent confirmations). */

export interface DatabaseSettings {
  /** postgres:// or postgresql:// URL of the runtime role; a secret (it may hold a password): never logged. */
  url: string;
}

/**
 * PINGONE_MCP_DATABASE_URL, or PINGONE_MCP_DATABASE_URL_FILE (a file holding it,
 * the container convention). With a database, PINGONE_MCP_CONFIRM_KEY is
 * required: each replica must open the sealed questions the others asked.
 */
export function loadDatabaseSettings(env: NodeJS.ProcessEnv): DatabaseSettings | undefined {
  const url = databaseUrlFromEnv(env);
  if (url === undefined) return undefined;
  if (secretSetting(env, 'PINGONE_MCP_CONFIRM_KEY') === undefined) {
    throw new ConfigError(
      'PINGONE_MCP_CONFIRM_KEY is not set: with PINGONE_MCP_DATABASE_URL every replica must share one confirmation key (set it, or PINGONE_MCP_CONFIRM_KEY_FILE, to the same secret on each).',
    );
  }
  return { url };
}

/** PINGONE_MCP_DATABASE_URL or its _FILE, checked to be a PostgreSQL URL; undefined when neither is set. */
export function databaseUrlFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const url = secretSetting(env, 'PINGONE_MCP_DATABASE_URL');
  return url === undefined ? undefined : checkDatabaseUrl(url, 'PINGONE_MCP_DATABASE_URL');
}

/** The URL when it is a postgres:// one; a ConfigError naming `source` (never the URL: it may hold a password) otherwise. */
export function checkDatabaseUrl(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${source} is not a URL: set it to postgres://USER@HOST:PORT/DATABASE (the password may go in PGPASSWORD).`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(`${source} must start with postgres:// or postgresql://.`);
  }
  return url;
}

/** A secret from NAME or, through withSecretFiles, the file NAME_FILE names. */
function secretSetting(env: NodeJS.ProcessEnv, name: SecretVariable): string | undefined {
  let resolved: NodeJS.ProcessEnv;
  try {
    resolved = withSecretFiles(env, [name]);
  } catch (error) {
    if (error instanceof SecretFileError) throw new ConfigError(error.message);
    throw error;
  }
  return nonEmpty(resolved[name]);
}
