import { describe, expect, it } from 'vitest';
import type { PasswordStateRead } from '../../src/pingone/client.js';
import { PingOneApiError } from '../../src/pingone/errors.js';
import { PASSWORD_STATUSES } from '../../src/pingone/model.js';
import { liftsBySelf, mustChange, passwordNote, summarizePassword } from '../../src/tools/password.js';

const known = (state: Extract<PasswordStateRead, { known: true }>['state']): PasswordStateRead => ({ known: true, state, status: 200, correlationId: undefined });

describe('the password state as tools show it', () => {
  it('keeps secondsUntilUnlock only for a lockout, and nothing of PingOne\'s free text', () => {
    expect(summarizePassword(known({ status: 'PASSWORD_LOCKED_OUT', secondsUntilUnlock: 90, lastChangedAt: '2026-01-01T00:00:00Z' }))).toEqual({ status: 'PASSWORD_LOCKED_OUT', secondsUntilUnlock: 90 });
    expect(summarizePassword(known({ status: 'OK', secondsUntilUnlock: 90 }))).toEqual({ status: 'OK' });
  });

  it('an unreadable state is UNKNOWN with the reason, whatever the failure', () => {
    const failure = new PingOneApiError({ status: 403 }, { attempts: 1, correlationId: undefined });
    expect(summarizePassword({ known: false, why: 'refused', failure })).toEqual({ status: 'UNKNOWN', unknownBecause: 'refused' });
    expect(passwordNote({ status: 'UNKNOWN', unknownBecause: 'unavailable' })).toBe('password state unknown (PingOne did not answer in time)');
  });

  it('only an expired or must-change password is diagnosed as "must change"', () => {
    expect(PASSWORD_STATUSES.filter((status) => mustChange({ status }))).toEqual(['PASSWORD_EXPIRED', 'MUST_CHANGE_PASSWORD']);
    expect(passwordNote({ status: 'PASSWORD_EXPIRED' })).toContain('unlocking will not help');
  });

  it('every documented status but OK has a note, and OK has none', () => {
    for (const status of PASSWORD_STATUSES) {
      if (status === 'OK') expect(passwordNote({ status })).toBeUndefined();
      else expect(passwordNote({ status })).toMatch(/\w/);
    }
  });

  it('says when a lockout lifts by itself in seconds or minutes', () => {
    expect(liftsBySelf({ status: 'PASSWORD_LOCKED_OUT', secondsUntilUnlock: 45 })).toBe(' (PingOne lifts it by itself in 45 seconds)');
    expect(liftsBySelf({ status: 'PASSWORD_LOCKED_OUT', secondsUntilUnlock: 1500 })).toBe(' (PingOne lifts it by itself in about 25 minutes)');
    expect(liftsBySelf({ status: 'PASSWORD_LOCKED_OUT' })).toBe('');
  });
});
