import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BodyBudget, nestsDeeperThan, readJsonBody } from '../../src/http/jsonBody.js';

/** The nesting of valid JSON text, counted the slow, obvious way. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

describe('nestsDeeperThan', () => {
  const texts = [
    '{}',
    '[[[]]]',
    '"[[[["',
    JSON.stringify({ a: '\\', b: [[['\\"[[']]] }),
    JSON.stringify({ a: '\\'.repeat(7) + '"[{', b: [{ c: ['\\\\', '"'] }] }),
    JSON.stringify([{ 'key with ] and }': [1, '{'] }, []]),
    JSON.stringify({ text: 'Ünïcödé [ 日本 { 🙂', deeper: [[[[1]]]] }),
  ];

  it('agrees with the depth of the parsed value, whatever brackets, quotes and backslashes the strings hold', () => {
    for (const text of texts) {
      const depth = depthOf(JSON.parse(text));
      const bytes = Buffer.from(text);
      expect([text, nestsDeeperThan(bytes, depth)]).toEqual([text, false]);
      if (depth > 0) expect([text, nestsDeeperThan(bytes, depth - 1)]).toEqual([text, true]);
    }
  });

  it('stops at the limit on a body nested far deeper', () => {
    expect(nestsDeeperThan(Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)), 100)).toBe(true);
    expect(nestsDeeperThan(Buffer.from(JSON.stringify({ long: 'x'.repeat(1_000_000) })), 100)).toBe(false);
  });
});

describe('readJsonBody with a budget shared by all bodies', () => {
  it('gives back every byte it took, whether the body parsed, was too large, was refused or was left unfinished', async () => {
    const budget = new BodyBudget(64 * 1024);
    const results: string[] = [];
    const server = createServer((req, res) => {
      void readJsonBody(req, 32 * 1024, budget).then((body) => {
        results.push(body.kind);
        res.end(body.kind);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/`;
    const post = async (body: string) => (await fetch(url, { method: 'POST', body })).text();
    try {
      expect(await post(JSON.stringify({ a: 'x'.repeat(20_000) }))).toBe('json');
      expect(await post('x'.repeat(40_000))).toBe('too-large');
      expect(await post('{')).toBe('invalid');
      // Two unfinished bodies hold 2 × 30 KB; a third finds no room.
      const held = [0, 1].map(() => {
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => {});
        socket.write(`POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 31000\r\n\r\n${'x'.repeat(30_000)}`);
        return socket;
      });
      while (budget.heldBytes < 60_000) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await post(JSON.stringify({ a: 'x'.repeat(10_000) }))).toBe('busy');
      for (const socket of held) socket.destroy();
      while (results.filter((kind) => kind === 'gone').length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(budget.heldBytes).toBe(0);
      expect(await post(JSON.stringify({ a: 'x'.repeat(20_000) }))).toBe('json');
      expect(budget.heldBytes).toBe(0);
    } finally {
      server.close();
    }
  });
});
