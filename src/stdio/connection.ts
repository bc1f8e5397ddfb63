import type { Readable, Writable } from 'node:stream';
import {
  isJSONRPCNotification,
  isJSONRPCRequest,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
  type Transport,
  type TransportSendOptions,
} from '@modelcontextprotocol/server';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { Waiters, type Idleable } from '../lifecycle.js';
import { LineLimiter, type OversizedMessage } from './lineLimiter.js';

export type { OversizedMessage };

export interface StdioConnectionOptions {
  input: Readable;
  output: Writable;
  /** Longer lines are dropped without being buffered whole; the SDK's own limit (10 MiB) would close the connection. */
  maxMessageBytes: number;
  onOversized?: (message: OversizedMessage) => void;
}

/**
 * The stdio wire under `serveStdio`, with what a clean shutdown needs that the
 * SDK transport does not do by itself:
 * - the end of stdin is reported (`inputEnded`) instead of closing the
 *   connection, so calls in flight can finish and be answered first (the SDK
 *   would abort them, leaving "may or may not have been applied" in the trail);
 * - requests received but not answered yet are counted (`idle`), so a drain
 *   also waits for calls that have not started;
 * - after `refuseRequests`, new requests are answered with an error at once
 *   while notifications (cancellations) still pass;
 * - an oversized line is dropped and answered with an error when its id can be
 *   read, instead of overflowing the SDK's buffer, which closes the connection;
 * - `lost` resolves when the wire closed without being asked to (stdout broken).
 */
export class StdioConnection implements Transport, Idleable {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void) | undefined;

  /** Resolves when stdin ended or failed: the client will send nothing more. */
  readonly inputEnded: Promise<void>;
  /** Resolves when the wire closed by itself (not through `close()`). */
  readonly lost: Promise<void>;

  private readonly wire: StdioServerTransport;
  private readonly unanswered = new Set<RequestId>();
  private readonly waiters = new Waiters();
  private refusal: string | undefined;
  private closing = false;
  private markLost!: () => void;

  constructor(private readonly options: StdioConnectionOptions) {
    const lines = new LineLimiter(options.maxMessageBytes, (oversized) => this.dropped(oversized));
    // Not `end`-propagating: the SDK transport closes itself, and aborts every call in flight, when its input ends.
    options.input.pipe(lines, { end: false });
    this.inputEnded = new Promise((resolve) => {
      options.input.once('end', () => resolve());
      options.input.once('close', () => resolve());
      options.input.once('error', () => resolve());
    });
    this.lost = new Promise((resolve) => (this.markLost = resolve));
    this.wire = new StdioServerTransport(lines, options.output);
  }

  get idle(): boolean {
    return this.unanswered.size === 0;
  }

  whenIdle(): Promise<void> {
    return this.idle ? Promise.resolve() : this.waiters.next();
  }

  /** From now on every request is answered with this error message; notifications still pass. */
  refuseRequests(message: string): void {
    this.refusal = message;
  }

  async start(): Promise<void> {
    this.wire.onmessage = (message) => this.receive(message);
    this.wire.onerror = (error) => this.onerror?.(error);
    this.wire.onclose = () => {
      this.unanswered.clear();
      this.waiters.release();
      if (!this.closing) this.markLost();
      this.onclose?.();
    };
    await this.wire.start();
  }

  send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    // What goes out is the SDK's own message, already valid: a response is the one with an id and no method
    // (the SDK's schema checks cost a zod parse per answer, for the same verdict).
    if (!('method' in message) && 'id' in message && (typeof message.id === 'string' || typeof message.id === 'number')) this.settle(message.id);
    // Stdio has one stream: per-request routing options do not apply.
    return this.wire.send(message);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.wire.close();
  }

  private receive(message: JSONRPCMessage): void {
    if (isJSONRPCRequest(message)) {
      if (this.refusal !== undefined) {
        this.answerError(message.id, -32000, this.refusal);
        return;
      }
      this.unanswered.add(message.id);
    } else if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      // The SDK never answers a cancelled request.
      const id = (message.params as { requestId?: unknown } | undefined)?.requestId;
      if (typeof id === 'string' || typeof id === 'number') this.settle(id);
    }
    this.onmessage?.(message);
  }

  private dropped(oversized: OversizedMessage): void {
    this.options.onOversized?.(oversized);
    if (oversized.requestId !== undefined) {
      this.answerError(oversized.requestId, -32600, `Invalid request: the message is ${oversized.bytes} bytes; this server accepts at most ${this.options.maxMessageBytes}.`);
    }
  }

  private answerError(id: RequestId, code: number, message: string): void {
    this.wire.send({ jsonrpc: '2.0', id, error: { code, message } }).catch((error: unknown) => {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
    });
  }

  private settle(id: RequestId): void {
    if (this.unanswered.delete(id) && this.idle) this.waiters.release();
  }
}
