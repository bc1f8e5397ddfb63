import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadDatabaseSettings } from '../../src/config.js';

const dirs: string[] = [];
function file(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'db-config-'));
  dirs.push(dir);
  const path = join(dir, 'secret');
  writeFileSync(path, content);
  return path;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const URL_WITH_PASSWORD = 'postgres://helpdesk:s3cret-pw@db.internal:5432/helpdesk';

describe('database settings', () => {
  it('are absent without PINGONE_MCP_DATABASE_URL: nothing changes', () => {
    expect(loadDatabaseSettings({})).toBeUndefined();
    expect(loadConfig({}, { sandbox: true }).database).toBeUndefined();
  });

  it('take the URL from the variable or from the file its _FILE names', () => {
    expect(loadDatabaseSettings({ PINGONE_MCP_DATABASE_URL: URL_WITH_PASSWORD, PINGONE_MCP_CONFIRM_KEY: 'k' })).toEqual({ url: URL_WITH_PASSWORD });
    const env = { PINGONE_MCP_DATABASE_URL_FILE: file(`${URL_WITH_PASSWORD}\n`), PINGONE_MCP_CONFIRM_KEY_FILE: file('a-shared-confirmation-key-of-32-bytes-or-more\n') };
    expect(loadConfig(env, { sandbox: true }).database).toEqual({ url: URL_WITH_PASSWORD });
  });

  it('require a shared confirmation key, in one sentence that names it', () => {
    expect(() => loadDatabaseSettings({ PINGONE_MCP_DATABASE_URL: URL_WITH_PASSWORD })).toThrow(ConfigError);
    expect(() => loadDatabaseSettings({ PINGONE_MCP_DATABASE_URL: URL_WITH_PASSWORD })).toThrow(/^PINGONE_MCP_CONFIRM_KEY is not set: with PINGONE_MCP_DATABASE_URL every replica must share one confirmation key/);
  });

  it('refuse what is not a PostgreSQL URL, never echoing the value (it may hold a password)', () => {
    for (const url of ['mysql://helpdesk:s3cret-pw@db/helpdesk', 'not a url s3cret-pw']) {
      let message = '';
      try {
        loadDatabaseSettings({ PINGONE_MCP_DATABASE_URL: url, PINGONE_MCP_CONFIRM_KEY: 'k' });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^PINGONE_MCP_DATABASE_URL (must start with postgres:\/\/|is not a URL)/);
      expect(message).not.toContain('s3cret-pw');
    }
  });

  it('refuse both the variable and its _FILE, an unreadable file, and an empty one', () => {
    expect(() => loadDatabaseSettings({ PINGONE_MCP_DATABASE_URL: URL_WITH_PASSWORD, PINGONE_MCP_DATABASE_URL_FILE: file(URL_WITH_PASSWORD) })).toThrow(
      /PINGONE_MCP_DATABASE_URL and PINGONE_MCP_DATABASE_URL_FILE are both set/,
    );
    expect(() => loadDatabaseSettings({ PINGONE_MCP_DATABASE_URL_FILE: '/nonexistent/db-url' })).toThrow(/cannot be read \(ENOENT\)/);
    // As for every secret's _FILE (src/secretFiles.ts): an empty mount must not quietly mean "no database".
    expect(() => loadDatabaseSettings({ PINGONE_MCP_DATABASE_URL_FILE: file('\n') })).toThrow(/names an empty file/);
  });
});
