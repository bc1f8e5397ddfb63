import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface RpcAnswer {
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
  /** Milliseconds from writing the request to parsing its answer. */
  elapsedMs: number;
}

/**
 * A bare JSON-RPC client over a child's stdio, newline-delimited as MCP's stdio
 * transport is. Deliberately minimal (no schema validation, no SDK) so that
 * what the benchmark times is the server, not the client.
 */
export class StdioRpc {
  readonly child: ChildProcessWithoutNullStreams;
  readonly spawnedAt: number;
  private nextId = 1;
  private buffer = '';
  private stderrTail = '';
  private readonly pending = new Map<number, { start: number; resolve: (answer: RpcAnswer) => void; reject: (error: Error) => void }>();

  constructor(command: string, args: string[], env: Record<string, string>) {
    this.spawnedAt = performance.now();
    this.child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => this.receive(chunk));
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
    });
    this.child.on('exit', (code, signal) => {
      const error = new Error(`server exited (${signal ?? code}) with requests pending; stderr:\n${this.stderrTail}`);
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  request(method: string, params: Record<string, unknown>): Promise<RpcAnswer> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { start: performance.now(), resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  notify(method: string, params: Record<string, unknown> = {}): void {
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`);
  }

  /** initialize + notifications/initialized, as a 2025-era client does. */
  async initialize(): Promise<RpcAnswer> {
    const answer = await this.request('initialize', {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'pingone-helpdesk-bench', version: '1.0.0' },
    });
    if (answer.error) throw new Error(`initialize failed: ${answer.error.message}`);
    this.notify('notifications/initialized');
    return answer;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    for (let newline = this.buffer.indexOf('\n'); newline >= 0; newline = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      if (line.trim() === '') continue;
      const message = JSON.parse(line) as { id?: number; result?: Record<string, unknown>; error?: { code: number; message: string } };
      if (typeof message.id !== 'number') continue; // a notification or a server-to-client request
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) continue;
      this.pending.delete(message.id);
      const answer: RpcAnswer = { elapsedMs: performance.now() - waiter.start };
      if (message.result !== undefined) answer.result = message.result;
      if (message.error !== undefined) answer.error = message.error;
      waiter.resolve(answer);
    }
  }
}
