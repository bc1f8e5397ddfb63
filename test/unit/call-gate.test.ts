import { describe, expect, it } from 'vitest';
import { CallGate } from '../../src/lifecycle.js';

const never = new AbortController().signal;

describe('CallGate per operator', () => {
  it('holds one operator at their own ceiling while others still get turns, and admits the waiting call on release', async () => {
    const gate = new CallGate({ maxConcurrent: 4, maxQueued: 10, maxConcurrentPerOperator: 2 });
    const a1 = await gate.enter(never, 'a');
    const a2 = await gate.enter(never, 'a');
    let a3Admitted = false;
    const a3 = gate.enter(never, 'a').then((turn) => {
      a3Admitted = true;
      return turn;
    });
    const b1 = await gate.enter(never, 'b');
    expect([a1.kind, a2.kind, b1.kind]).toEqual(['admitted', 'admitted', 'admitted']);
    await Promise.resolve();
    expect(a3Admitted).toBe(false);
    expect(gate.activeFor('a')).toBe(2);
    expect(gate.waiting).toBe(1);
    if (a1.kind !== 'admitted') throw new Error('a1');
    a1.release();
    expect((await a3).kind).toBe('admitted');
    expect(gate.activeFor('a')).toBe(2);
    expect(gate.active).toBe(3);
  });

  it('keeps the total ceiling: calls without an operator share it with everyone', async () => {
    const gate = new CallGate({ maxConcurrent: 2, maxQueued: 0, maxConcurrentPerOperator: 2 });
    expect((await gate.enter(never, 'a')).kind).toBe('admitted');
    expect((await gate.enter(never)).kind).toBe('admitted');
    expect((await gate.enter(never, 'b')).kind).toBe('full');
  });

  it('a waiting call of a busy operator does not hold up another operator queued behind it', async () => {
    const gate = new CallGate({ maxConcurrent: 2, maxQueued: 10, maxConcurrentPerOperator: 1 });
    const a1 = await gate.enter(never, 'a');
    const c1 = await gate.enter(never, 'c');
    const order: string[] = [];
    const a2 = gate.enter(never, 'a').then((turn) => (order.push('a2'), turn));
    const b1 = gate.enter(never, 'b').then((turn) => (order.push('b1'), turn));
    if (c1.kind !== 'admitted' || a1.kind !== 'admitted') throw new Error('setup');
    c1.release();
    await b1;
    expect(order).toEqual(['b1']);
    a1.release();
    await a2;
    expect(order).toEqual(['b1', 'a2']);
  });
});

describe('CallGate queue shares (attack: one operator filling the queue)', () => {
  it("one operator's waiting calls take at most their share of the queue, so others still wait their turn rather than being refused", async () => {
    const gate = new CallGate({ maxConcurrent: 4, maxQueued: 8, maxConcurrentPerOperator: 1 });
    // The server is busy: four operators each run one call.
    for (const operator of ['a', 'b', 'c', 'd']) expect((await gate.enter(never, operator)).kind).toBe('admitted');
    // Operator a fires many more: share = 8 × 1/4 = 2 of them wait, the rest are refused at once.
    const flood = await Promise.all(Array.from({ length: 10 }, () => Promise.race([gate.enter(never, 'a'), Promise.resolve({ kind: 'waiting' as const })])));
    expect(flood.filter((turn) => turn.kind === 'full')).toHaveLength(8);
    expect(gate.waiting).toBe(2);
    // Another operator still gets a place in the queue.
    const e = await Promise.race([gate.enter(never, 'e'), Promise.resolve({ kind: 'waiting' as const })]);
    expect(e.kind).toBe('waiting');
    expect(gate.waiting).toBe(3);
  });
});
