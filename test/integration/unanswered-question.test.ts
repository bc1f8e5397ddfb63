import { describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { harnessPerTest, pingOneWrites } from '../support/harness.js';

const start = harnessPerTest();

// Attack: on a 2026-era connection the question travels back to the client as `input_required`,
// naming the account (username, display name, user ID, population) read from PingOne. A client
// that never answers leaves the read with no record at all.
describe('a question that is never answered', () => {
  it('the account details shown in the question leave a record even when no answer comes back', async () => {
    const harness = await start({ era: 'modern', answer: () => { throw new Error('the person walked away'); } });
    await harness.call('unlock_user', { user: 'jdoe', reason: 'INC-1' }).catch(() => undefined);
    expect(pingOneWrites(harness)).toHaveLength(0);
    const records = harness.audit();
    expect(records).toEqual([expect.objectContaining({ target: expect.objectContaining({ userId: DEMO_USERS.jdoe.id }) })]);
  });
});
