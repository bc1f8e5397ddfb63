import type { IncomingMessage } from 'node:http';

/**
 * Far deeper than any MCP message nests, far shallower than what overflows the
 * stack: the SDK serializes the parsed body again (a recursive JSON.stringify),
 * and at a few thousand levels that throws, which it answers 500.
 */
export const MAX_JSON_DEPTH = 100;

export type JsonBody = { kind: 'json'; value: unknown } | { kind: 'invalid' } | { kind: 'too-deep' } | { kind: 'too-large' } | { kind: 'gone' };

/** Decodes as the SDK's own body reading did (WHATWG UTF-8 decode): a leading byte order mark is dropped, not a parse error. */
const utf8 = new TextDecoder();

/**
 * A POST body read and parsed once, at most `maxBytes` long. The SDK would
 * otherwise read it through a web Request, clone it to decide the protocol
 * era, and parse it again for the chosen handler: a fifth of the CPU of an
 * audited call under load went to that. A body over the limit is drained
 * unkept, so the 413 can still be answered on the connection.
 */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<JsonBody> {
  return new Promise((resolve) => {
    // Gone before we began (its 'close' already passed): no event is left to wait for.
    if (req.destroyed) return resolve({ kind: 'gone' });
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received <= maxBytes) return void chunks.push(chunk);
      chunks.length = 0;
      resolve({ kind: 'too-large' });
    });
    req.once('end', () => {
      if (received > maxBytes) return;
      const bytes = Buffer.concat(chunks, received);
      let value: unknown;
      try {
        value = JSON.parse(utf8.decode(bytes));
      } catch {
        return resolve({ kind: 'invalid' });
      }
      resolve(nestsDeeperThan(bytes, MAX_JSON_DEPTH) ? { kind: 'too-deep' } : { kind: 'json', value });
    });
    // The client went away (or the request deadline cut it): nobody is left to answer.
    req.once('close', () => resolve({ kind: 'gone' }));
  });
}

const [QUOTE, BACKSLASH, OPEN_ARRAY, OPEN_OBJECT, CLOSE_ARRAY, CLOSE_OBJECT] = [0x22, 0x5c, 0x5b, 0x7b, 0x5d, 0x7d] as const;

/**
 * Whether valid JSON text nests arrays and objects deeper than `limit`. Strings
 * are skipped natively (a long string costs next to nothing): brackets in them
 * are text. Bytes suffice: in UTF-8 no byte of a longer character is ASCII.
 */
export function nestsDeeperThan(json: Buffer, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i];
    if (byte === QUOTE) i = closingQuote(json, i);
    else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) depth++;
    else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) depth--;
    if (depth > limit) return true;
  }
  return false;
}

/** Where the string opened at `opening` ends: the next quote not escaped by an odd run of backslashes. */
function closingQuote(json: Buffer, opening: number): number {
  let at = json.indexOf(QUOTE, opening + 1);
  while (escaped(json, at)) at = json.indexOf(QUOTE, at + 1);
  return at;
}

function escaped(json: Buffer, at: number): boolean {
  let backslashes = 0;
  while (json[at - 1 - backslashes] === BACKSLASH) backslashes++;
  return backslashes % 2 === 1;
}
