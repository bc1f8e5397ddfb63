import type { IncomingMessage } from 'node:http';

/**
 * Far deeper than any MCP message nests, far shallower than what overflows the
 * stack: the SDK serializes the parsed body again (a recursive JSON.stringify),
 * and at a few thousand levels that throws, which it answers 500.
 */
export const MAX_JSON_DEPTH = 100;

export type JsonBody = { kind: 'json'; value: unknown } | { kind: 'invalid' } | { kind: 'too-deep' } | { kind: 'too-large' } | { kind: 'busy' } | { kind: 'gone' };

/** Decodes as the SDK's own body reading did (WHATWG UTF-8 decode): a leading byte order mark is dropped, not a parse error. */
const utf8 = new TextDecoder();

/**
 * The bytes bodies still arriving may hold: all of them together, and those of
 * one holder (an operator, or a client address without a token). The per-body
 * limit alone bounds nothing: a caller with any valid token could open
 * thousands of connections, each sending just under the limit and never the
 * last byte, and hold a gibibyte per thousand until the process is killed.
 * The holder's share keeps one caller from taking the whole budget from the
 * others. Past either a body is refused (`busy`), not kept.
 */
export class BodyBudget {
  private held = 0;
  private readonly byHolder = new Map<string, number>();

  constructor(
    readonly maxBytes: number,
    readonly maxBytesPerHolder: number = maxBytes,
  ) {}

  get heldBytes(): number {
    return this.held;
  }

  take(holder: string, bytes: number): boolean {
    const mine = this.byHolder.get(holder) ?? 0;
    if (this.held + bytes > this.maxBytes || mine + bytes > this.maxBytesPerHolder) return false;
    this.held += bytes;
    this.byHolder.set(holder, mine + bytes);
    return true;
  }

  give(holder: string, bytes: number): void {
    if (bytes === 0) return;
    this.held -= bytes;
    const left = (this.byHolder.get(holder) ?? 0) - bytes;
    if (left > 0) this.byHolder.set(holder, left);
    else this.byHolder.delete(holder);
  }
}

/**
 * A POST body read and parsed once, at most `maxBytes` long. The SDK would
 * otherwise read it through a web Request, clone it to decide the protocol
 * era, and parse it again for the chosen handler: a fifth of the CPU of an
 * audited call under load went to that. A body over the limit, or past what
 * `budget` has left, is drained unkept, so the refusal can still be answered
 * on the connection.
 */
export function readJsonBody(req: IncomingMessage, maxBytes: number, budget: BodyBudget, holder = ''): Promise<JsonBody> {
  return new Promise((resolve) => {
    // Gone before we began (its 'close' already passed): no event is left to wait for.
    if (req.destroyed) return resolve({ kind: 'gone' });
    const chunks: Buffer[] = [];
    let received = 0;
    let kept = 0;
    let refused: JsonBody | undefined;
    const drop = (): void => {
      budget.give(holder, kept);
      kept = 0;
      chunks.length = 0;
    };
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (refused !== undefined) return;
      if (received > maxBytes) refused = { kind: 'too-large' };
      else if (!budget.take(holder, chunk.length)) refused = { kind: 'busy' };
      else {
        kept += chunk.length;
        return void chunks.push(chunk);
      }
      drop();
      resolve(refused);
    });
    req.once('end', () => {
      if (refused !== undefined) return;
      const bytes = Buffer.concat(chunks, received);
      drop();
      let value: unknown;
      try {
        value = JSON.parse(utf8.decode(bytes));
      } catch {
        return resolve({ kind: 'invalid' });
      }
      resolve(nestsDeeperThan(bytes, MAX_JSON_DEPTH) ? { kind: 'too-deep' } : { kind: 'json', value });
    });
    // The client went away (or the request deadline cut it): nobody is left to answer, and what it sent is let go.
    req.once('close', () => {
      drop();
      resolve({ kind: 'gone' });
    });
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
