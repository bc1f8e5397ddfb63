import { spawn, type ChildProcess } from 'node:child_process';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Agent, request } from 'undici';

export interface HttpServer {
  url: URL;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The built server in --http mode on a free loopback port; resolves once it logs its URL. */
export async function startHttpServer(nodeArgs: string[], env: Record<string, string>): Promise<HttpServer> {
  const child = spawn(process.execPath, nodeArgs, { env: { ...env, PINGONE_MCP_HTTP_PORT: '0', PINGONE_MCP_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = await new Promise<URL>((done, fail) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-8000);
      const found = /"url":"([^"]+)"/.exec(stderr);
      if (found?.[1]) done(new URL(found[1]));
    });
    void exited.then(() => fail(new Error(`bench: the HTTP server exited before listening: ${stderr.slice(-500)}`)));
  });
  return {
    url,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Replays one tool call over Streamable HTTP (2026-07-28, stateless) with bare undici: the
 * request is captured once from the real SDK client (headers, body), then re-sent with a
 * fresh id. The load generator then costs what the direct side's undici costs, so the
 * comparison measures the server, not the SDK client's validation.
 */
export class HttpToolCall {
  private readonly dispatcher = new Agent({ connections: 256, pipelining: 1 });
  private nextId = 1;

  private constructor(
    private readonly url: URL,
    private readonly headers: Record<string, string>,
    private readonly body: Record<string, unknown>,
    private readonly expect: string,
  ) {}

  static async capture(url: URL, name: string, args: Record<string, unknown>, expect: string): Promise<HttpToolCall> {
    let captured: { headers: Record<string, string>; body: Record<string, unknown> } | undefined;
    const recordingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : undefined;
      if (body?.method === 'tools/call') captured = { headers: Object.fromEntries(new Headers(init?.headers).entries()), body };
      return fetch(input, init);
    };
    const client = new Client({ name: 'bench', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(new StreamableHTTPClientTransport(url, { fetch: recordingFetch }));
    try {
      const result = await client.callTool({ name, arguments: args });
      const outcome = (result.structuredContent as { outcome?: string } | undefined)?.outcome;
      if (outcome !== expect) throw new Error(`bench: ${name} over HTTP answered ${outcome ?? JSON.stringify(result).slice(0, 300)}`);
    } finally {
      await client.close().catch(() => {});
    }
    if (captured === undefined) throw new Error('bench: the SDK client sent no tools/call to capture');
    return new HttpToolCall(url, captured.headers, captured.body, expect);
  }

  /** One call; resolves with its latency in ms, rejects unless the answer carries the expected outcome. */
  async call(): Promise<number> {
    const start = performance.now();
    const response = await request(this.url, {
      method: 'POST',
      dispatcher: this.dispatcher,
      headers: this.headers,
      body: JSON.stringify({ ...this.body, id: this.nextId++ }),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200 || !text.includes(`"outcome":"${this.expect}"`)) {
      throw new Error(`bench: HTTP tool call answered ${response.statusCode}: ${text.slice(0, 300)}`);
    }
    return performance.now() - start;
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** Runs `total` calls of `fn` with `concurrency` in flight; latencies and wall time. */
export async function concurrently(concurrency: number, total: number, fn: () => Promise<number>): Promise<{ latencies: number[]; elapsedMs: number }> {
  const latencies: number[] = [];
  let started = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < total) {
        started++;
        latencies.push(await fn());
      }
    }),
  );
  return { latencies, elapsedMs: performance.now() - t0 };
}
