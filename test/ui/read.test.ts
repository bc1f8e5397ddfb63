import { describe, expect, it } from 'vitest';
import { readCard } from '../../src/ui/view/read.js';

const USER_ID = '5412b934-c252-4a33-bd11-22988989ff47';
const DEVICE_ID = 'dea3ca01-2d49-4ea1-a9bf-bd3d939dce13';

describe('readCard: what the card takes from a tool result', () => {
  it('survives anything that is not the expected shape, showing nothing it cannot vouch for', () => {
    for (const junk of [null, undefined, 42, 'text', [], { structuredContent: [] }, { structuredContent: { users: 'x', devices: {}, user: 7 } }]) {
      const card = readCard(junk);
      expect(card.users).toEqual([]);
      expect(card.devices).toBeUndefined();
      expect(card.sandbox).toBe(false);
      expect(card.failed).toBe(false);
    }
  });

  it('reads a device listing, keeping IDs only when they are UUIDs', () => {
    const card = readCard({
      structuredContent: {
        outcome: 'listed',
        summary: 'jdoe has 2 MFA devices',
        sandbox: true,
        user: { id: USER_ID, name: 'Jane Doe', username: 'jdoe', account: { status: 'LOCKED' } },
        devices: [
          { id: DEVICE_ID.toUpperCase(), type: 'SMS', nickname: 'Work phone', phone: '+1******0150', block: { status: 'BLOCKED' }, lock: {}, nextStep: 'unblock' },
          { id: 'not-a-uuid', type: 'EMAIL', email: 'j***@example.com', block: {}, lock: { status: 'LOCKED', expiresAt: '2026-01-01T00:00:00Z' } },
        ],
      },
    });
    expect(card.users).toHaveLength(1);
    expect(card.users[0]).toMatchObject({ id: USER_ID, name: 'Jane Doe', account: { status: 'LOCKED' }, password: { status: undefined } });
    expect(card.devices).toEqual([
      { id: DEVICE_ID, type: 'SMS', nickname: 'Work phone', contact: '+1******0150', blocked: true, locked: false, lockExpiresAt: undefined, notActivated: false, nextStep: 'unblock' },
      { id: undefined, type: 'EMAIL', nickname: undefined, contact: 'j***@example.com', blocked: false, locked: true, lockExpiresAt: '2026-01-01T00:00:00Z', notActivated: false, nextStep: undefined },
    ]);
  });

  it('drops hidden and direction-changing characters and caps long text', () => {
    const card = readCard({ structuredContent: { users: [{ id: USER_ID, name: 'Ja\u202ene\u200b Doe\u0000', username: 'x'.repeat(500), account: {} }] } });
    expect(card.users[0]?.name).toBe('Jane Doe');
    expect(card.users[0]?.username).toHaveLength(200);
    expect(card.users[0]?.username?.endsWith('…')).toBe(true);
  });

  it('reads a password state when the result carries one, and leaves it unknown otherwise', () => {
    const withPassword = readCard({ structuredContent: { users: [{ id: USER_ID, account: {}, password: { status: 'PASSWORD_LOCKED_OUT', secondsUntilUnlock: 300 } }] } });
    expect(withPassword.users[0]?.password).toEqual({ status: 'PASSWORD_LOCKED_OUT', secondsUntilUnlock: 300 });
    const odd = readCard({ structuredContent: { users: [{ id: USER_ID, account: {}, password: { status: 3, secondsUntilUnlock: 'soon' } }] } });
    expect(odd.users[0]?.password).toEqual({ status: undefined, secondsUntilUnlock: undefined });
  });

  it('marks a failed call and falls back to the text when there is no summary', () => {
    const card = readCard({ isError: true, content: [{ type: 'text', text: 'PingOne refused: 403' }] });
    expect(card.failed).toBe(true);
    expect(card.summary).toBe('PingOne refused: 403');
  });
});
