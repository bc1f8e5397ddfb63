import type { ElicitRequest } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { DEMO_POPULATIONS, DEMO_USERS } from '../../src/sandbox/seed.js';
import { ERAS, harnessPerTest, type Harness, type HarnessOptions } from '../support/harness.js';

/**
 * Issue 11's integration matrix: unlock_user clearing password lockouts,
 * find_user showing the password state, read-back after a bodiless write. Each
 * unlock_user case runs against the sandbox in every combination of the two
 * switches for PingOne's undocumented behaviours, and asserts PingOne's end
 * state (emulator.getUser / getPassword) and the exact requests sent.
 * Demo users: jdoe = account-only lock; kwong = password lockout that alone
 * locks the account (no lockedAt); ceo = password lockout lifting by itself.
 */

const start = harnessPerTest();
const { jdoe, kwong, bsmith, ceo } = DEMO_USERS;

const SWITCHES = [false, true].flatMap((accountUnlockClearsPasswordLockout) =>
  (['object', 'no-content'] as const).map((writeAnswer) => ({ accountUnlockClearsPasswordLockout, writeAnswer })),
);

/** Every request to the API (not the token endpoint), as `route`. */
function routes(h: Harness): string[] {
  return h.emulator.requests.filter((r) => r.route !== 'token').map((r) => r.route);
}

const WRITE_ROUTES = new Set(['user.action', 'password.action', 'device.action']);
function writeRequests(h: Harness) {
  return h.emulator.requests.filter((r) => WRITE_ROUTES.has(r.route));
}

/** The intents name the writes, in order, and each is on disk before its write reached PingOne. */
function expectIntentsBeforeWrites(h: Harness, writes: string[]): void {
  const intents = h.audit().filter((r) => r.phase === 'intent');
  expect(intents.map((r) => r.write)).toEqual(writes);
  const sent = writeRequests(h);
  expect(sent).toHaveLength(writes.length);
  intents.forEach((intent, i) => expect(Date.parse((intent as unknown as { time: string }).time)).toBeLessThanOrEqual(sent[i]!.receivedAt));
}

function accountOf(h: Harness, id: string) {
  return h.emulator.getUser(id)?.account?.status;
}
function passwordOf(h: Harness, id: string) {
  return h.emulator.getPassword(id)?.status;
}

/** kwong locked by an administrator as well as locked out: Password Unlock alone no longer lifts the account lock. */
function lockKwongByAdmin(h: Harness): void {
  const user = h.emulator.getUser(kwong.id)!;
  h.emulator.putUser({ ...user, account: { status: 'LOCKED', canAuthenticate: false, lockedAt: new Date().toISOString() } });
  h.emulator.putPassword(kwong.id, { status: 'PASSWORD_LOCKED_OUT', locksAccount: false });
}

const TWO_WRITES = /Password Unlock.*Account Unlock/;

describe.each(SWITCHES)('unlock_user with accountUnlockClearsPasswordLockout=$accountUnlockClearsPasswordLockout, writeAnswer=$writeAnswer', (emulator) => {
  const open = (options: HarnessOptions = {}) => start({ ...options, emulator });

  it('account-only lock (jdoe): one account.unlock after its intent; account OK, password OK; result says "account" was cleared', async () => {
    const h = await open();
    const result = await h.call('unlock_user', { user: 'jdoe' });
    expect(result.structured).toMatchObject({ outcome: 'unlocked', cleared: 'account', password: { status: 'OK' }, user: { account: { status: 'OK' } } });
    expect(result.text).toMatch(/cleared the account lock/);
    expect(accountOf(h, jdoe.id)).toBe('OK');
    expect(passwordOf(h, jdoe.id)).toBe('OK');
    expect(writeRequests(h).map((r) => r.contentType)).toEqual(['application/vnd.pingidentity.account.unlock+json']);
    expectIntentsBeforeWrites(h, ['unlockUser']);
  });

  it('password lockout as the only reason (kwong): the fewest writes reach account OK and password not locked out; each write after its own intent; result says "both"', async () => {
    const h = await open();
    const result = await h.call('unlock_user', { user: 'kwong' });
    expect(result.structured).toMatchObject({ outcome: 'unlocked', cleared: 'both', password: { status: 'OK' }, user: { account: { status: 'OK' } } });
    expect(result.text).toMatch(/cleared the password lockout and the account lock/);
    expect(accountOf(h, kwong.id)).toBe('OK');
    expect(passwordOf(h, kwong.id)).toBe('OK');
    // Password Unlock lifts the lock it caused, so the account needs no write of its own.
    expect(writeRequests(h).map((r) => r.contentType)).toEqual(['application/vnd.pingidentity.password.unlock+json']);
    expect(writeRequests(h)[0]?.path).toMatch(new RegExp(`/users/${kwong.id}/password$`));
    expectIntentsBeforeWrites(h, ['unlockPassword']);
  });

  it('administrator lock plus password lockout (lock kwong first): account OK and password OK whichever way PingOne behaves; at most two writes, each after its own intent', async () => {
    const h = await open();
    lockKwongByAdmin(h);
    const result = await h.call('unlock_user', { user: 'kwong' });
    expect(result.structured).toMatchObject({ outcome: 'unlocked', cleared: 'both', password: { status: 'OK' }, user: { account: { status: 'OK' } } });
    expect(accountOf(h, kwong.id)).toBe('OK');
    expect(passwordOf(h, kwong.id)).toBe('OK');
    expect(writeRequests(h).map((r) => r.route)).toEqual(['password.action', 'user.action']);
    expectIntentsBeforeWrites(h, ['unlockPassword', 'unlockUser']);
  });

  it('password locked out on an account that is OK: one password.unlock; result says "password"', async () => {
    const h = await open();
    h.emulator.putPassword(bsmith.id, { status: 'PASSWORD_LOCKED_OUT' });
    const result = await h.call('unlock_user', { user: 'bsmith' });
    expect(result.structured).toMatchObject({ outcome: 'unlocked', cleared: 'password', password: { status: 'OK' } });
    expect(result.text).toMatch(/cleared the password lockout;/);
    expect(passwordOf(h, bsmith.id)).toBe('OK');
    expect(accountOf(h, bsmith.id)).toBe('OK');
    expect(writeRequests(h).map((r) => r.route)).toEqual(['password.action']);
    expectIntentsBeforeWrites(h, ['unlockPassword']);
  });

  it('one confirmation question naming every write the call may send; declining sends none', async () => {
    const asked: Array<ElicitRequest['params']> = [];
    const yes = await open({ answer: (params) => (asked.push(params), { action: 'accept', content: { confirm: true } }) });
    lockKwongByAdmin(yes);
    const accepted = await yes.call('unlock_user', { user: 'kwong', reason: 'INC-7' });
    expect(accepted.structured.outcome).toBe('unlocked');
    expect(asked).toHaveLength(1);
    expect(asked[0]?.message).toBe(
      `Clear the password lockout of "kwong" (name "Kim Wong", user ID ${kwong.id}, population ${DEMO_POPULATIONS.staff}) (Password Unlock), then unlock the account (Account Unlock) if it is still locked? Reason given: "INC-7"`,
    );
    expect(writeRequests(yes).map((r) => r.route)).toEqual(['password.action', 'user.action']);

    const no = await open({ answer: () => ({ action: 'decline' }) });
    lockKwongByAdmin(no);
    const declined = await no.call('unlock_user', { user: 'kwong' });
    expect(declined.structured).toMatchObject({ outcome: 'denied', error: { code: 'NOT_CONFIRMED' } });
    expect(writeRequests(no)).toHaveLength(0);
    expect(accountOf(no, kwong.id)).toBe('LOCKED');
    expect(passwordOf(no, kwong.id)).toBe('PASSWORD_LOCKED_OUT');
    expect(no.audit().filter((r) => r.phase === 'intent')).toHaveLength(0);
  });

  it('one slot of the write limit however many writes the call sends', async () => {
    const h = await open({ env: { PINGONE_MCP_MAX_WRITES_PER_MINUTE: '2' } });
    lockKwongByAdmin(h);
    h.emulator.putPassword(bsmith.id, { status: 'PASSWORD_LOCKED_OUT' });
    expect((await h.call('unlock_user', { user: 'kwong' })).structured.outcome).toBe('unlocked');
    expect(writeRequests(h)).toHaveLength(2);
    expect((await h.call('unlock_user', { user: 'jdoe' })).structured.outcome).toBe('unlocked');
    const third = await h.call('unlock_user', { user: 'bsmith' });
    expect(third.structured).toMatchObject({ outcome: 'denied', error: { code: 'WRITE_RATE_LIMITED' } });
    expect(writeRequests(h)).toHaveLength(3);
    expect(passwordOf(h, bsmith.id)).toBe('PASSWORD_LOCKED_OUT');
  });

  it('dry run names the password write exactly like the account write and sends nothing', async () => {
    const h = await open();
    lockKwongByAdmin(h);
    const result = await h.call('unlock_user', { user: 'kwong', dryRun: true });
    expect(result.structured).toMatchObject({ outcome: 'dry_run', password: { status: 'PASSWORD_LOCKED_OUT' } });
    expect(result.text).toMatch(TWO_WRITES);
    expect(result.text).toContain('Nothing was changed');
    expect(writeRequests(h)).toHaveLength(0);
    expect(accountOf(h, kwong.id)).toBe('LOCKED');
    expect(passwordOf(h, kwong.id)).toBe('PASSWORD_LOCKED_OUT');
  });

  it('guards (protected account, population) stop the password write exactly like the account write', async () => {
    const prot = await open({ env: { PINGONE_MCP_PROTECTED_USERS: 'kwong' } });
    const protectedResult = await prot.call('unlock_user', { user: 'kwong' });
    expect(protectedResult.structured).toMatchObject({ outcome: 'denied', error: { code: 'PROTECTED_USER' } });
    expect(writeRequests(prot)).toHaveLength(0);
    expect(passwordOf(prot, kwong.id)).toBe('PASSWORD_LOCKED_OUT');

    const pop = await open({ env: { PINGONE_MCP_ALLOWED_POPULATIONS: DEMO_POPULATIONS.contractors } });
    pop.emulator.putPassword(bsmith.id, { status: 'PASSWORD_LOCKED_OUT' });
    const outside = await pop.call('unlock_user', { user: 'bsmith' });
    expect(outside.structured).toMatchObject({ outcome: 'denied', error: { code: 'POPULATION_NOT_ALLOWED' } });
    expect(writeRequests(pop)).toHaveLength(0);
    expect(passwordOf(pop, bsmith.id)).toBe('PASSWORD_LOCKED_OUT');
  });

  it('writeAnswer=no-content: each write is followed by one GET read-back, and the result reports the state PingOne now holds', async () => {
    const h = await open();
    lockKwongByAdmin(h);
    const result = await h.call('unlock_user', { user: 'kwong' });
    expect(result.structured).toMatchObject({ outcome: 'unlocked', cleared: 'both', password: { status: 'OK' }, user: { account: { status: 'OK' } } });
    expect(writeRequests(h).every((r) => r.status === (emulator.writeAnswer === 'no-content' ? 204 : 200))).toBe(true);
    // With the object, the password answer carries the password, so only the account is read again before its unlock.
    expect(routes(h)).toEqual(
      emulator.writeAnswer === 'no-content'
        ? ['users.search', 'password.get', 'password.action', 'password.get', 'user.get', 'user.action', 'user.get']
        : ['users.search', 'password.get', 'password.action', 'user.get', 'user.action'],
    );
  });

  it('a write whose read-back shows no change is a failure that says so', async () => {
    const h = await open();
    // PingOne answers 204 but does nothing.
    h.emulator.faults.add({ match: { route: 'user.action' }, action: { kind: 'raw', status: 204, body: '' } });
    const result = await h.call('unlock_user', { user: 'jdoe' });
    expect(result.isError).toBe(true);
    expect(result.structured).toMatchObject({ outcome: 'failed', error: { code: 'WRITE_NOT_APPLIED' } });
    expect(result.text).toMatch(/accepted the request to unlock the account jdoe .*unchanged/);
    expect(accountOf(h, jdoe.id)).toBe('LOCKED');
    expect(routes(h)).toEqual(['users.search', 'password.get', 'user.action', 'user.get']);
    expect(h.audit().map((r) => r.outcome ?? r.phase)).toEqual(['intent', 'failed']);
  });
});

describe('unlock_user when the password is the problem but not a lockout', () => {
  it.each(['MUST_CHANGE_PASSWORD', 'PASSWORD_EXPIRED'] as const)('%s on an OK account: not_locked, no write, "they must change their password at next sign-in; unlocking will not help"', async (status) => {
    const h = await start();
    h.emulator.putPassword(bsmith.id, { status });
    const result = await h.call('unlock_user', { user: 'bsmith' });
    expect(result.structured).toMatchObject({ outcome: 'not_locked', password: { status } });
    expect(result.text).toContain('they must change their password at next sign-in; unlocking will not help');
    expect(writeRequests(h)).toHaveLength(0);
    expect(passwordOf(h, bsmith.id)).toBe(status);
  });
});

describe.each(ERAS)('unlock_user confirmation over a %s-era connection binds the writes', (era) => {
  it('a password lockout that appears between the question and the answer is not covered by the approval: nothing is sent', async () => {
    let h: Harness | undefined;
    h = await start({
      era,
      answer: () => {
        // The person approved "unlock the account"; by the time the call resumes, the password is locked out too.
        h!.emulator.putPassword(jdoe.id, { status: 'PASSWORD_LOCKED_OUT' });
        return { action: 'accept', content: { confirm: true } };
      },
    });
    const result = await h.call('unlock_user', { user: 'jdoe' });
    expect(result.structured).toMatchObject({ outcome: 'denied', error: { code: 'CONFIRMATION_MISMATCH' } });
    expect(writeRequests(h)).toHaveLength(0);
    expect(accountOf(h, jdoe.id)).toBe('LOCKED');
  });
});

describe('unlock_user when the password state cannot be read', () => {
  it('a 403 on the password read: the account is unlocked as before, and the result says the password state is unknown', async () => {
    const h = await start({ emulator: { accountUnlockClearsPasswordLockout: false } });
    h.emulator.faults.add({ match: { route: 'password.get' }, action: { kind: 'status', status: 403 } });
    const result = await h.call('unlock_user', { user: 'kwong' });
    expect(result.structured).toMatchObject({ outcome: 'unlocked', cleared: 'account', password: { status: 'UNKNOWN', unknownBecause: 'refused' } });
    expect(result.text).toContain('Their password state is unknown (PingOne refused to show it). A password lockout may remain');
    expect(writeRequests(h).map((r) => r.route)).toEqual(['user.action']);
    expect(accountOf(h, kwong.id)).toBe('OK');
    // What the warning is for: this PingOne does not clear the password lockout with the account.
    expect(passwordOf(h, kwong.id)).toBe('PASSWORD_LOCKED_OUT');
  });
});

describe('find_user and the password state', () => {
  it('a single match shows the password lockout, secondsUntilUnlock (ceo) and the next step', async () => {
    const h = await start();
    const result = await h.call('find_user', { query: 'ceo' });
    expect(result.structured.outcome).toBe('found');
    const [found] = result.structured.users;
    expect(found.id).toBe(ceo.id);
    expect(found.password.status).toBe('PASSWORD_LOCKED_OUT');
    expect(found.password.secondsUntilUnlock).toBeGreaterThan(0);
    expect(found.password.secondsUntilUnlock).toBeLessThanOrEqual(25 * 60);
    expect(found.nextStep).toMatch(/password locked out after failed sign-ins \(PingOne lifts it by itself in about \d+ minutes\)/);
    expect(routes(h).filter((r) => r === 'password.get')).toHaveLength(1);
  });

  it('several matches read no password state (no GET …/password sent)', async () => {
    const h = await start();
    const result = await h.call('find_user', { query: 'ops' });
    expect(result.structured.users.length).toBeGreaterThan(1);
    expect(result.structured.users.every((u: { password?: unknown }) => u.password === undefined)).toBe(true);
    expect(routes(h)).not.toContain('password.get');
  });

  it('a 403 on the password read shows "unknown" and the lookup still succeeds', async () => {
    const h = await start();
    h.emulator.faults.add({ match: { route: 'password.get' }, action: { kind: 'status', status: 403 } });
    const result = await h.call('find_user', { query: 'kwong' });
    expect(result.isError).toBe(false);
    expect(result.structured.users[0].password).toEqual({ status: 'UNKNOWN', unknownBecause: 'refused' });
    expect(result.structured.users[0].nextStep).toMatch(/password state unknown \(PingOne refused to show it\)/);
    expect(h.emulator.faults.pending).toBe(0);
  });

  it('a user of an external identity provider shows EXTERNAL / unknown and the lookup still succeeds', async () => {
    const h = await start();
    h.emulator.putUser({ ...h.emulator.getUser(bsmith.id)!, identityProvider: { type: 'FACEBOOK' } });
    const result = await h.call('find_user', { query: 'bsmith' });
    expect(result.isError).toBe(false);
    expect(result.structured.users[0].password).toEqual({ status: 'EXTERNAL' });
    expect(result.structured.users[0].nextStep).toMatch(/external identity provider/);
  });

  it('a password read that times out shows "unknown" within the call deadline', async () => {
    const h = await start({ callTimeoutMs: 3_000 });
    h.emulator.faults.add({ match: { route: 'password.get' }, times: Infinity, action: { kind: 'hang' } });
    const result = await h.call('find_user', { query: 'kwong' });
    expect(result.isError).toBe(false);
    expect(result.structured.outcome).toBe('found');
    expect(result.structured.users[0].password).toEqual({ status: 'UNKNOWN', unknownBecause: 'unavailable' });
  });
});

describe.each(['object', 'no-content'] as const)('device writes with writeAnswer=%s', (writeAnswer) => {
  const readBack = writeAnswer === 'no-content' ? ['device.get'] : [];

  it('unblock_device reports the device state PingOne holds (read back when the answer has no body)', async () => {
    const h = await start({ emulator: { writeAnswer } });
    const result = await h.call('unblock_device', { user: 'jdoe', deviceId: jdoe.blockedSmsDeviceId });
    expect(result.structured).toMatchObject({ outcome: 'unblocked', device: { id: jdoe.blockedSmsDeviceId, block: { status: 'UNBLOCKED' } } });
    expect(h.emulator.getDevice(jdoe.id, jdoe.blockedSmsDeviceId)?.block?.status).toBe('UNBLOCKED');
    expect(routes(h)).toEqual(['users.search', 'device.get', 'device.action', ...readBack]);
    expect(writeRequests(h)[0]?.contentType).toBe('application/vnd.pingidentity.device.unblock+json');
    expectIntentsBeforeWrites(h, ['unblockDevice']);
  });

  it('unlock_device reports the device state PingOne holds (read back when the answer has no body)', async () => {
    const h = await start({ emulator: { writeAnswer } });
    const result = await h.call('unlock_device', { user: 'jdoe', deviceId: jdoe.lockedEmailDeviceId });
    expect(result.structured).toMatchObject({ outcome: 'unlocked', device: { id: jdoe.lockedEmailDeviceId, lock: { status: 'UNLOCKED' } } });
    expect(h.emulator.getDevice(jdoe.id, jdoe.lockedEmailDeviceId)?.lock?.status).toBe('UNLOCKED');
    expect(routes(h)).toEqual(['users.search', 'device.get', 'device.action', ...readBack]);
    expect(writeRequests(h)[0]?.contentType).toBe('application/vnd.pingidentity.device.unlock+json');
    expectIntentsBeforeWrites(h, ['unlockDevice']);
  });
});
