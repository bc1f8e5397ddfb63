import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { describe, expect, it, vi } from 'vitest';
import { InFlightCalls } from '../../src/lifecycle.js';
import { StdioConnection, type OversizedMessage } from '../../src/stdio/connection.js';

/** The pieces under serve.ts, over in-memory streams: framing, limits, refusal, drain. */

async function connection(maxMessageBytes = 200) {
  const input = new PassThrough();
  const output = new PassThrough();
  let written = '';
  output.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
  const oversized: OversizedMessage[] = [];
  const conn = new StdioConnection({ input, output, maxMessageBytes, onOversized: (m) => oversized.push(m) });
  const received: JSONRPCMessage[] = [];
  conn.onmessage = (message) => received.push(message);
  await conn.start();
  const settle = () => new Promise((r) => setImmediate(r));
  return { input, conn, received, oversized, written: () => written.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>), settle };
}

const ping = (id: number | string) => JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' });

describe('StdioConnection framing', () => {
  it('reassembles messages split anywhere across chunks, with LF or CRLF', async () => {
    const c = await connection();
    const text = `${ping(1)}\r\n${ping(2)}\n${ping(3)}\n`;
    for (const char of text) c.input.write(char);
    await c.settle();
    expect(c.received.map((m) => (m as { id: number }).id)).toEqual([1, 2, 3]);
  });

  it('drops an oversized line wherever its chunks split, answers its id, and frames the next one', async () => {
    const c = await connection(200);
    const big = 'x'.repeat(1_000);
    const lines = [
      `{"method":"tools/call","params":{"a":"${big}"},"jsonrpc":"2.0","id":7}`,
      `{"jsonrpc":"2.0","id":"eight","method":"tools/call","params":{"a":"${big}"}}`,
      `{"jsonrpc":"2.0","id":9,"result":{"a":"${big}"}}`,
      `{"method":"notifications/x","params":{"a":"${big}","id":5}}`,
      ping(10),
    ];
    const stream = lines.join('\n') + '\n';
    for (let i = 0; i < stream.length; i += 97) c.input.write(stream.slice(i, i + 97));
    await c.settle();
    expect(c.received.map((m) => (m as { id: number }).id)).toEqual([10]);
    expect(c.oversized.map((m) => m.requestId)).toEqual([7, 'eight', undefined, undefined]);
    expect(c.oversized[0]?.bytes).toBe(lines[0]!.length);
    expect(c.written()).toEqual([
      { jsonrpc: '2.0', id: 7, error: { code: -32600, message: expect.stringMatching(/at most 200/) } },
      { jsonrpc: '2.0', id: 'eight', error: expect.objectContaining({ code: -32600 }) },
    ]);
  });

  it('drops an oversized line whose id only looks like JSON, without crashing', async () => {
    const c = await connection(200);
    c.input.write(`{"jsonrpc":"2.0","method":"tools/call","params":{"a":"${'x'.repeat(500)}"},"id":"\\u00zz"}\n${ping(11)}\n`);
    await c.settle();
    expect(c.oversized.map((m) => m.requestId)).toEqual([undefined]);
    expect(c.received.map((m) => (m as { id: number }).id)).toEqual([11]);
  });

  it('keeps a line of exactly the limit and drops one a byte longer', async () => {
    const c = await connection(200);
    const line = (id: number, pad: number) => `{"jsonrpc":"2.0","id":${id},"method":"ping","params":{"p":"${'y'.repeat(pad)}"}}`;
    expect(line(1, 142).length).toBe(200);
    c.input.write(`${line(1, 142)}\n${line(2, 143)}\n`);
    await c.settle();
    expect(c.received.map((m) => (m as { id: number }).id)).toEqual([1]);
    expect(c.oversized).toEqual([{ bytes: 201, requestId: 2 }]);
  });
});

describe('StdioConnection bookkeeping', () => {
  it('counts requests until answered or cancelled, and refuses new ones once told to', async () => {
    const c = await connection();
    c.input.write(`${ping(1)}\n${ping(2)}\n`);
    await c.settle();
    expect(c.conn.idle).toBe(false);
    const idle = vi.fn();
    void c.conn.whenIdle().then(idle);
    await c.conn.send({ jsonrpc: '2.0', id: 1, result: {} });
    c.input.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 2 } })}\n`);
    await c.settle();
    expect(c.conn.idle).toBe(true);
    expect(idle).toHaveBeenCalled();

    c.conn.refuseRequests('shutting down');
    c.input.write(`${ping(3)}\n${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 9 } })}\n`);
    await c.settle();
    expect(c.received.map((m) => ('id' in m ? m.id : (m as { method: string }).method))).toEqual([1, 2, 'notifications/cancelled', 'notifications/cancelled']);
    expect(c.written().at(-1)).toEqual({ jsonrpc: '2.0', id: 3, error: { code: -32000, message: 'shutting down' } });
    expect(c.conn.idle).toBe(true);
  });

  it('reports the end of input without closing the wire; `lost` only when the wire closes by itself', async () => {
    const c = await connection();
    const lost = vi.fn();
    void c.conn.lost.then(lost);
    c.input.end();
    await c.conn.inputEnded;
    await c.settle();
    expect(lost).not.toHaveBeenCalled();
    await c.conn.send({ jsonrpc: '2.0', id: 1, result: {} });
    await c.conn.close();
    await c.settle();
    expect(lost).not.toHaveBeenCalled();
  });
});

describe('InFlightCalls.drain', () => {
  const after = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));

  it('lets calls finish within the grace period', async () => {
    const calls = new InFlightCalls();
    let signal: AbortSignal | undefined;
    void calls.track((s) => ((signal = s), after(50, 'done')));
    expect(await calls.drain(1_000)).toEqual({ finished: 1, interrupted: 0, abandoned: 0 });
    expect(signal?.aborted).toBe(false);
    expect(calls.cancelled).toBe(false);
  });

  it('cancels what is still running after it, and waits for those calls to end', async () => {
    const calls = new InFlightCalls();
    const ended: string[] = [];
    void calls.track(() => after(20, 'quick')).then((v) => ended.push(v));
    void calls.track((signal) => new Promise((resolve) => signal.addEventListener('abort', () => setTimeout(() => resolve(ended.push('interrupted')), 30))));
    expect(await calls.drain(100)).toEqual({ finished: 1, interrupted: 1, abandoned: 0 });
    expect(ended).toEqual(['quick', 'interrupted']);
  });

  it('waits for `alsoWaitFor`, picks up calls that start during the drain, and can be hurried', async () => {
    const calls = new InFlightCalls();
    let otherIdle = false;
    const other = { get idle() { return otherIdle; }, whenIdle: () => after(60, undefined).then(() => void (otherIdle = true)) };
    setTimeout(() => void calls.track(() => after(100, 'late')), 30);
    const started = Date.now();
    expect(await calls.drain(5_000, { alsoWaitFor: other })).toEqual({ finished: 1, interrupted: 0, abandoned: 0 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(120);

    const hurry = new AbortController();
    void calls.track((signal) => new Promise((resolve) => signal.addEventListener('abort', resolve)));
    setTimeout(() => hurry.abort(), 50);
    const hurried = Date.now();
    expect(await calls.drain(60_000, { hurry: hurry.signal })).toMatchObject({ interrupted: 1, abandoned: 0 });
    expect(Date.now() - hurried).toBeLessThan(1_000);
  });
});
