import { describe, expect, it } from 'vitest';
import { harnessPerTest } from '../support/harness.js';

// Usernames that end users or administrators spell with characters a reader does not see:
// the trail must name the account PingOne holds, and the protected-user guard must still match it.
const start = harnessPerTest();

/**
 * The trail names the account PingOne holds, not its display form: an end user whose username
 * differs from a protected account's by an invisible character must not appear in the trail
 * under that account's name (an auditor searching for "admin" would find a change it never had).
 */
describe('the audit target of a user with an invisible character in the username', () => {
  const lookalike = '1a2b3c4d-0000-4000-8000-0000000000a2';

  it.each([
    ['unlock_user', { user: lookalike, reason: 'INC-1' }],
    ['find_user', { query: lookalike }],
  ] as const)('%s records the username with the character spelled out', async (tool, args) => {
    const h = await start({ env: { PINGONE_MCP_PROTECTED_USERS: 'admin', PINGONE_MCP_CONFIRM: 'never' } });
    h.emulator.putUser({ id: '1a2b3c4d-0000-4000-8000-0000000000a1', username: 'admin', enabled: true, account: { status: 'LOCKED', canAuthenticate: false } } as never);
    h.emulator.putUser({ id: lookalike, username: 'ad\u200Bmin', enabled: true, account: { status: 'LOCKED', canAuthenticate: false } } as never);
    const result = await h.call(tool, args);
    expect(result.isError).toBe(false);
    const targets = h.audit().map((record) => record.target);
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) {
      expect(target.userId).toBe(lookalike);
      expect(target.username).toBe('ad\\u{200B}min');
    }
  });
});

describe('a protected username that PingOne holds with surrounding whitespace', () => {
  // The configuration trims every entry, so "admin " can only be configured as "admin".
  it.each(['admin ', ' Admin', 'admin\u00A0'])('is still protected: %j', async (username) => {
    const h = await start({ env: { PINGONE_MCP_PROTECTED_USERS: 'admin', PINGONE_MCP_CONFIRM: 'never' } });
    const id = '1a2b3c4d-0000-4000-8000-0000000000a5';
    h.emulator.putUser({ id, username, enabled: true, account: { status: 'LOCKED', canAuthenticate: false } } as never);
    const result = await h.call('unlock_user', { user: id, reason: 'INC-1' });
    expect(result.structured).toMatchObject({ outcome: 'denied', error: { code: 'PROTECTED_USER' } });
    expect(h.emulator.getUser(id)?.account?.status).toBe('LOCKED');
  });
});
