import { Transform, type TransformCallback } from 'node:stream';
import type { RequestId } from '@modelcontextprotocol/server';

/** What the connection knows about a message it dropped for its size. */
export interface OversizedMessage {
  bytes: number;
  /** The request's id when it could be read from the message's first or last bytes. */
  requestId?: RequestId;
}

const EDGE_BYTES = 256;
const ID = String.raw`(-?\d{1,15}|"(?:[^"\\\u0000-\u001f]|\\.){0,128}")`;
/** `{"jsonrpc":"2.0","id":7,…` — the id written first. */
const HEAD_ID = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${ID}\s*,`);
/** `…,"jsonrpc":"2.0","id":7}` — the id written last (the SDK client's order); the final `}` makes it top-level. */
const TAIL_ID = new RegExp(String.raw`,\s*"id"\s*:\s*${ID}\s*(?:,\s*"jsonrpc"\s*:\s*"2\.0"\s*)?\}\s*$`);

/**
 * Passes whole lines through and drops a line longer than `maxBytes` without
 * buffering more than `maxBytes` of it, keeping only its first and last bytes
 * to find the request id.
 */
export class LineLimiter extends Transform {
  private parts: Buffer[] = [];
  private size = 0;
  private dropping: { bytes: number; head: Buffer; tail: Buffer } | undefined;

  constructor(
    private readonly maxBytes: number,
    private readonly onOversized: (message: OversizedMessage) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline + 1;
      this.accept(chunk.subarray(start, end), newline !== -1);
      start = end;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.dropping) this.finishDropping();
    else if (this.size > 0) this.push(Buffer.concat(this.parts));
    done();
  }

  private accept(piece: Buffer, endsLine: boolean): void {
    const content = endsLine ? piece.length - 1 : piece.length;
    if (this.dropping === undefined && this.size + content <= this.maxBytes) {
      this.parts.push(piece);
      this.size += piece.length;
      if (endsLine) {
        this.push(this.parts.length === 1 ? piece : Buffer.concat(this.parts));
        this.parts = [];
        this.size = 0;
      }
      return;
    }
    if (this.dropping === undefined) {
      const start = Buffer.concat([...this.parts, piece]);
      this.dropping = { bytes: this.size, head: Buffer.from(start.subarray(0, EDGE_BYTES)), tail: Buffer.alloc(0) };
      this.parts = [];
      this.size = 0;
    }
    this.dropping.bytes += content;
    const body = piece.subarray(0, content);
    this.dropping.tail = Buffer.from(Buffer.concat([this.dropping.tail, body.subarray(Math.max(0, body.length - EDGE_BYTES))]).subarray(-EDGE_BYTES));
    if (endsLine) this.finishDropping();
  }

  private finishDropping(): void {
    const dropped = this.dropping;
    this.dropping = undefined;
    if (dropped === undefined) return;
    const head = dropped.head.toString('utf8');
    const tail = dropped.tail.toString('utf8').replace(/\r$/, '');
    const looksLikeRequest = /"method"\s*:/.test(head) || /"method"\s*:/.test(tail);
    const found = looksLikeRequest ? (HEAD_ID.exec(head) ?? TAIL_ID.exec(tail))?.[1] : undefined;
    const requestId = found === undefined ? undefined : parseId(found);
    this.onOversized({ bytes: dropped.bytes, ...(requestId === undefined ? {} : { requestId }) });
  }
}

/** The id as JSON, or undefined when the client wrote something that only looks like one. */
function parseId(text: string): RequestId | undefined {
  try {
    return JSON.parse(text) as RequestId;
  } catch {
    return undefined;
  }
}
