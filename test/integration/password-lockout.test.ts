import { describe, it } from 'vitest';

/**
 * Issue 11's integration matrix, ready for the tool side (unlock_user clearing
 * password lockouts, find_user showing the password state, read-back after a
 * bodiless write). Each case runs against the sandbox in every combination of
 * the two switches for PingOne's undocumented behaviours:
 *   startHarness({ emulator: { accountUnlockClearsPasswordLockout, writeAnswer } })
 * and asserts PingOne's end state (emulator.getUser / getPassword) and the exact
 * writes sent (emulator.requests filtered to 'user.action' and 'password.action').
 * Demo users: jdoe = account-only lock; kwong = password lockout that alone locks
 * the account (no lockedAt); ceo = password lockout lifting by itself. Other
 * states are put with emulator.putPassword / putUser.
 */

const SWITCHES = [false, true].flatMap((accountUnlockClearsPasswordLockout) =>
  (['object', 'no-content'] as const).map((writeAnswer) => ({ accountUnlockClearsPasswordLockout, writeAnswer })),
);

describe.each(SWITCHES)('unlock_user with accountUnlockClearsPasswordLockout=$accountUnlockClearsPasswordLockout, writeAnswer=$writeAnswer', () => {
  it.todo('account-only lock (jdoe): one account.unlock after its intent; account OK, password OK; result says "account" was cleared');
  it.todo('password lockout as the only reason (kwong): the fewest writes reach account OK and password not locked out; each write after its own intent; result says "both"');
  it.todo('administrator lock plus password lockout (lock kwong first): account OK and password OK whichever way PingOne behaves; at most two writes, each after its own intent');
  it.todo('password locked out on an account that is OK: one password.unlock; result says "password"');
  it.todo('one confirmation question naming every write the call may send; declining sends none');
  it.todo('one slot of the write limit however many writes the call sends');
  it.todo('dry run names the password write exactly like the account write and sends nothing');
  it.todo('guards (protected account, population) stop the password write exactly like the account write');
  it.todo('writeAnswer=no-content: each write is followed by one GET read-back, and the result reports the state PingOne now holds');
  it.todo('a write whose read-back shows no change is a failure that says so');
});

describe('unlock_user when the password is the problem but not a lockout', () => {
  it.todo('MUST_CHANGE_PASSWORD on an OK account: not_locked, no write, "they must change their password at next sign-in; unlocking will not help"');
  it.todo('PASSWORD_EXPIRED on an OK account: not_locked, no write, the same diagnosis');
});

describe('find_user and the password state', () => {
  it.todo('a single match shows the password lockout, secondsUntilUnlock (ceo) and the next step');
  it.todo('several matches read no password state (no GET …/password sent)');
  it.todo('a 403 on the password read shows "unknown" and the lookup still succeeds');
  it.todo('a user of an external identity provider shows EXTERNAL / unknown and the lookup still succeeds');
  it.todo('a password read that times out shows "unknown" within the call deadline');
});

describe.each(['object', 'no-content'] as const)('device writes with writeAnswer=%s', () => {
  it.todo('unblock_device reports the device state PingOne holds (read back when the answer has no body)');
  it.todo('unlock_device reports the device state PingOne holds (read back when the answer has no body)');
});
