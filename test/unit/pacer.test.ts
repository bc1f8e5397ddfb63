import { describe, expect, it } from 'vitest';
import { TurnPacer } from '../../src/http/pacer.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TurnPacer', () => {
  it('starts a lone request at once', async () => {
    const pacer = new TurnPacer(1);
    let started = false;
    void pacer.turn().then(() => (started = true));
    await Promise.resolve();
    expect(started).toBe(true);
  });

  it('starts a burst one per turn, in arrival order, with timers running in between', async () => {
    const pacer = new TurnPacer(1);
    const order: string[] = [];
    const burst = Array.from({ length: 6 }, (_, i) => pacer.turn().then(() => order.push(`request ${i}`)));
    setTimeout(() => order.push('timer'), 0);
    // A 0 ms timer is due after 1 ms: six turns can pass in less, so the timer is made due first.
    for (const start = performance.now(); performance.now() - start < 2; );
    await Promise.resolve();
    expect(order).toEqual(['request 0']);
    await Promise.all(burst);
    expect(order.filter((entry) => entry.startsWith('request'))).toEqual(['request 0', 'request 1', 'request 2', 'request 3', 'request 4', 'request 5']);
    // The timer was due long before the burst was through: it ran in one of the turns between.
    expect(order.indexOf('timer')).toBeGreaterThan(0);
    expect(order.indexOf('timer')).toBeLessThan(order.length - 1);
  });

  it('lets `perTurn` requests start in each turn', async () => {
    const pacer = new TurnPacer(3);
    let started = 0;
    const burst = Array.from({ length: 7 }, () => pacer.turn().then(() => started++));
    await Promise.resolve();
    expect(started).toBe(3);
    await Promise.all(burst);
    expect(started).toBe(7);
  });

  it('does not hold back a request that arrives in a later, quiet turn', async () => {
    const pacer = new TurnPacer(1);
    await pacer.turn();
    await nextTurn();
    await nextTurn();
    let started = false;
    void pacer.turn().then(() => (started = true));
    await Promise.resolve();
    expect(started).toBe(true);
  });
});
