import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createMcpHandler, isJsonContentType, isLegacyRequest, type AuthInfo, type McpServerFactory } from '@modelcontextprotocol/server';
import { operatorKey } from '../auth/operator.js';
import { operatorFromAuthInfo } from '../auth/tokenOperator.js';
import type { HttpSettings } from '../config.js';
import { Waiters, type Idleable } from '../lifecycle.js';
import type { Logger } from '../logger.js';
import { safeText } from '../text/untrusted.js';
import { surelyModern } from './era.js';
import { clientAddress, type RequestGuard } from './guard.js';
import { BodyBudget, MAX_JSON_DEPTH, readJsonBody } from './jsonBody.js';
import { LegacySessions, jsonRpcError } from './sessions.js';
import { TurnPacer } from './pacer.js';
import { nodeExchange, type NodeExchange, type WebRequestExtra } from './webExchange.js';

const MCP_METHODS = new Set(['GET', 'POST', 'DELETE', 'HEAD', 'OPTIONS']);

/** No MCP message to this server comes near this; a larger body is answered 413 unread. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * What all POST bodies still arriving may hold between them (64 bodies at the
 * limit, tens of thousands of real MCP messages of a few hundred bytes each),
 * and what those of one operator (or one client address, without a token) may.
 * Past either a body is answered 503, so that slow bodies cannot grow the
 * process until it is killed, nor one caller's starve everyone else's.
 */
const MAX_BODY_BYTES_IN_FLIGHT = 64 * MAX_BODY_BYTES;
const MAX_BODY_BYTES_IN_FLIGHT_PER_CALLER = 8 * MAX_BODY_BYTES;

/** Far below Node's defaults: a slow or silent client must not hold a socket. */
export const HTTP_TIMEOUTS = {
  /** Until the request headers have arrived. */
  headersMs: 10_000,
  /** Until the whole request (headers and body) has arrived. */
  requestMs: 30_000,
  /** An idle kept-alive connection between requests. */
  keepAliveMs: 5_000,
  /** A socket with no traffic at all (SSE streams send a keep-alive every 15 s). */
  socketIdleMs: 120_000,
  /** How often Node checks the header and request deadlines (its default, 30 s, would stretch them). */
  checkEveryMs: 1_000,
};
export type HttpTimeouts = typeof HTTP_TIMEOUTS;

export interface HttpServiceOptions {
  settings: HttpSettings;
  factory: McpServerFactory;
  /**
   * The guard for the endpoint once it listens at `endpoint`. It may need the
   * bound address (the sandbox's tokens name the listener's own URL), so it is
   * asked for after binding; requests arriving meanwhile wait for it.
   */
  guardFor(endpoint: URL): RequestGuard | Promise<RequestGuard>;
  /** Ready to take traffic: answered from local state only, never by calling PingOne. */
  ready: () => Promise<boolean>;
  /** Prometheus text, served at /metrics behind the guard unless it has a port of its own. */
  metrics: () => string;
  logger: Logger;
  /** Tests shorten them; deployments keep the defaults. */
  timeouts?: Partial<HttpTimeouts>;
  /** Tests lower them; deployments keep MAX_BODY_BYTES_IN_FLIGHT and MAX_BODY_BYTES_IN_FLIGHT_PER_CALLER. */
  bodyBytesInFlight?: { total: number; perCaller: number };
}

/**
 * The HTTP face of the server: MCP over Streamable HTTP at the resource's
 * path (2026-07-28 clients statelessly, 2025-era clients in sessions), the
 * probes, the Protected Resource Metadata and /metrics. Every MCP request
 * passes the guard (Host, Origin, bearer token) on its headers before its
 * body is read.
 */
export class HttpService implements Idleable {
  readonly server: Server;
  private metricsServer: Server | undefined;
  private readonly sessions: LegacySessions;
  private readonly modern: ReturnType<typeof createMcpHandler>;
  private readonly mcp: NodeExchange;
  private readonly postsInProgress = new Set<ServerResponse>();
  private readonly waiters = new Waiters();
  private refusal: string | undefined;
  private readonly reportTransportError: (error: Error) => void;
  /**
   * At most four new MCP requests start per event-loop turn (pacer.ts). Measured at 100 calls in flight
   * on the 2-core machine: unpaced, event-loop delay p99 67 ms; one per turn 7-9 ms, but calls then reach
   * the audit trail one by one (3.4 records per fdatasync); two 10-11 ms at 550-610 calls/s; four 13-15 ms,
   * 12-13 records per fdatasync and the most throughput (700-740 calls/s, unpaced 470-650).
   */
  private readonly pacer = new TurnPacer(4);
  private readonly bodyBudget: BodyBudget;
  private guard: Promise<RequestGuard> | undefined;

  constructor(private readonly options: HttpServiceOptions) {
    const { settings, factory, logger } = options;
    const inFlight = options.bodyBytesInFlight ?? { total: MAX_BODY_BYTES_IN_FLIGHT, perCaller: MAX_BODY_BYTES_IN_FLIGHT_PER_CALLER };
    this.bodyBudget = new BodyBudget(inFlight.total, inFlight.perCaller);
    // The SDK's message may quote the request (a JSON snippet, an unknown message whole): the client's text, made safe.
    this.reportTransportError = (error: Error) => logger.warn({ problem: safeText(error.message, 300) }, 'MCP HTTP transport error');
    const onerror = this.reportTransportError;
    this.modern = createMcpHandler(factory, { legacy: 'reject', maxRequestBodySize: MAX_BODY_BYTES, onerror });
    this.sessions = new LegacySessions({ factory, max: settings.maxSessions, idleMs: settings.sessionIdleMs, maxBodyBytes: MAX_BODY_BYTES, onerror });
    // A POST's body arrives parsed (see readJsonBody): neither the routing nor the SDK reads or clones it again.
    // The modern handler classifies every request itself: the SDK's classification runs here first only when it could say 2025 era.
    const route = async (request: Request, extra: WebRequestExtra): Promise<Response> =>
      !surelyModern(request, extra.parsedBody) && (await isLegacyRequest(request, extra.parsedBody, { maxRequestBodySize: MAX_BODY_BYTES }))
        ? this.sessions.handle(request, extra)
        : this.modern.fetch(request, extra);
    this.mcp = nodeExchange(route, onerror);
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      this.dispatch(req, res).catch((error: unknown) => {
        logger.error({ err: error }, 'HTTP request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error\n');
        else res.destroy();
      });
    };
    const timeouts = { ...HTTP_TIMEOUTS, ...options.timeouts };
    const serverOptions = {
      maxHeaderSize: 16 * 1024,
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      keepAliveTimeout: timeouts.keepAliveMs,
      connectionsCheckingInterval: timeouts.checkEveryMs,
    };
    this.server = settings.tls ? createHttpsServer({ ...serverOptions, cert: settings.tls.cert, key: settings.tls.key }, listener) : createHttpServer(serverOptions, listener);
    this.server.setTimeout(timeouts.socketIdleMs, (socket) => socket.destroy());
  }

  /** Open 2025-era sessions (for /metrics). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** MCP POSTs received and not answered yet. */
  get pendingPosts(): number {
    return this.postsInProgress.size;
  }

  /** No MCP POST is waiting for its answer: a drain waits for this. */
  get idle(): boolean {
    return this.postsInProgress.size === 0;
  }

  whenIdle(): Promise<void> {
    return this.idle ? Promise.resolve() : this.waiters.next();
  }

  async listen(): Promise<{ url: string; metricsUrl?: string }> {
    const { settings } = this.options;
    const address = await listenOn(this.server, settings.host, settings.port);
    const scheme = settings.tls ? 'https' : 'http';
    const result: { url: string; metricsUrl?: string } = { url: `${scheme}://${hostForUrl(settings.host)}:${address.port}${settings.path}` };
    this.guard = Promise.resolve(this.options.guardFor(new URL(result.url)));
    try {
      await this.guard;
    } catch (error) {
      await closeServer(this.server).catch(() => {});
      throw error;
    }
    if (settings.metricsPort !== undefined) {
      this.metricsServer = createHttpServer({ headersTimeout: HTTP_TIMEOUTS.headersMs, requestTimeout: HTTP_TIMEOUTS.requestMs }, (req, res) => {
        if (pathOf(req) === '/metrics' && req.method === 'GET') this.sendMetrics(res);
        else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      });
      const metricsAddress = await listenOn(this.metricsServer, settings.metricsHost, settings.metricsPort);
      result.metricsUrl = `http://${hostForUrl(settings.metricsHost)}:${metricsAddress.port}/metrics`;
    }
    return result;
  }

  /** From now on MCP requests are answered 503 with this message; the probes say not ready. */
  refuseRequests(message: string): void {
    this.refusal = message;
  }

  /** Ends every session and stream, then stops listening and closes every connection. */
  async close(): Promise<void> {
    await this.sessions.closeAll();
    await this.modern.close().catch(() => {});
    const closed = Promise.all([closeServer(this.server), this.metricsServer ? closeServer(this.metricsServer) : undefined]);
    this.server.closeAllConnections();
    this.metricsServer?.closeAllConnections();
    await closed;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req);
    const { settings } = this.options;
    // The probes answer anyone who can reach the port, whatever Host they used (orchestrators probe the pod address); they reveal nothing.
    if (path === '/healthz') return sendText(res, 200, 'ok\n');
    if (path === '/readyz') {
      const ready = this.refusal === undefined && (await this.options.ready());
      return sendText(res, ready ? 200 : 503, ready ? 'ready\n' : 'not ready\n');
    }
    if (this.guard === undefined) return sendText(res, 503, 'not listening yet\n');
    const guard = await this.guard;
    // Public metadata (RFC 9728), readable cross-origin: browser-based MCP clients discover the authorization server here.
    const metadata = guard.metadata(req);
    if (metadata !== undefined) return sendResponse(res, metadata);
    const isMcp = path === settings.path;
    const isMetrics = path === '/metrics' && settings.metricsPort === undefined;
    if (!isMcp && !isMetrics) return sendText(res, 404, 'not found\n');
    const checked = await guard.check(req);
    if (!checked.ok) return sendResponse(res, checked.response);
    if (isMetrics) return req.method === 'GET' ? this.sendMetrics(res) : sendText(res, 405, 'method not allowed\n', { allow: 'GET' });
    // Streamable HTTP is GET, POST and DELETE (OPTIONS and HEAD the SDK answers itself); a TRACE or CONNECT
    // would make the web Request the SDK builds throw, and be answered 500 with an error in the log.
    if (!MCP_METHODS.has(req.method ?? '')) return sendText(res, 405, 'method not allowed\n', { allow: 'GET, POST, DELETE' });
    if (this.refusal !== undefined) return sendResponse(res, shuttingDown(this.refusal));
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return sendResponse(res, bodyTooLarge());
    const authInfo = checked.authInfo === undefined ? {} : { authInfo: checked.authInfo };
    const client = clientAddress(req, settings.trustProxy);
    this.options.logger.debug({ method: req.method, client }, 'MCP HTTP request');
    if (req.method !== 'POST') return this.mcp(req, res, authInfo);
    // The SDK refuses any other media type without reading the body: so does this, before reading it.
    if (!isJsonContentType(req.headers['content-type'])) return this.refuseBody(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    this.trackPost(res);
    const body = await readJsonBody(req, MAX_BODY_BYTES, this.bodyBudget, bodyHolder(checked.authInfo, client));
    if (body.kind === 'gone') return;
    if (body.kind === 'too-large') return sendResponse(res, bodyTooLarge());
    if (body.kind === 'busy') return sendResponse(res, bodiesBusy());
    // Said without quoting the body: its text is the client's, and these lines go to the log.
    if (body.kind === 'invalid') return this.refuseBody(res, 400, -32700, 'Parse error: the request body is not valid JSON.');
    if (body.kind === 'too-deep') return this.refuseBody(res, 400, -32600, `Bad Request: the request body nests deeper than ${MAX_JSON_DEPTH} levels.`);
    await this.pacer.turn();
    // A shutdown may have begun while this request waited for its turn.
    if (this.refusal !== undefined) return sendResponse(res, shuttingDown(this.refusal));
    await this.mcp(req, res, { ...authInfo, parsedBody: body.value });
  }

  /** A body the SDK would refuse too, refused without building a server, and said once in the log. */
  private refuseBody(res: ServerResponse, status: number, code: number, problem: string): Promise<void> {
    this.reportTransportError(new Error(problem));
    return sendResponse(res, jsonRpcError(status, code, problem));
  }

  private trackPost(res: ServerResponse): void {
    // The client left while its headers were checked: its 'close' has passed, nothing would ever untrack it.
    if (res.destroyed) return;
    this.postsInProgress.add(res);
    const done = () => {
      if (this.postsInProgress.delete(res) && this.idle) this.waiters.release();
    };
    res.once('finish', done);
    res.once('close', done);
  }

  /** The bytes of POST bodies still arriving that the listener holds now. */
  get bodyBytesHeld(): number {
    return this.bodyBudget.heldBytes;
  }

  private sendMetrics(res: ServerResponse): void {
    sendText(res, 200, this.options.metrics(), { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  }
}

function shuttingDown(refusal: string): Response {
  return jsonRpcError(503, -32000, refusal, { 'retry-after': '5', connection: 'close' });
}

/** Whose share a body draws on: the operator of its token, else the client's address. */
function bodyHolder(authInfo: AuthInfo | undefined, client: string | undefined): string {
  return authInfo === undefined ? `address ${client ?? ''}` : `operator ${operatorKey(operatorFromAuthInfo(authInfo))}`;
}

function bodiesBusy(): Response {
  return jsonRpcError(503, -32000, 'Server busy: too many request bodies are arriving at once. Try again shortly.', { 'retry-after': '1', connection: 'close' });
}

function bodyTooLarge(): Response {
  return jsonRpcError(413, -32000, `Request body too large: at most ${MAX_BODY_BYTES} bytes.`, { connection: 'close' });
}

/** The request's path, without query; `/` when it cannot be read. */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  discardRest(res.req);
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(text);
}

async function sendResponse(res: ServerResponse, response: Response): Promise<void> {
  discardRest(res.req);
  const headers: Record<string, string> = {};
  for (const [name, value] of response.headers) headers[name] = value;
  res.writeHead(response.status, headers).end(Buffer.from(await response.arrayBuffer()));
}

/**
 * The rest of the body of a request answered before it all arrived (a refusal
 * on its headers), read and dropped so that the answer reaches the client and
 * the connection can be reused, as Node itself would; but only up to the body
 * limit, where Node would read on, for anyone, token or not, until the request
 * deadline: past it the connection is cut.
 */
function discardRest(req: IncomingMessage): void {
  if (req.complete) return;
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > MAX_BODY_BYTES) req.socket.destroy();
  });
  req.resume();
}

function listenOn(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
