import { randomUUID } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport, type AuthInfo, type McpServerFactory } from '@modelcontextprotocol/server';
import { operatorKey } from '../auth/operator.js';
import { operatorFromAuthInfo } from '../auth/tokenOperator.js';

export interface LegacySessionsOptions {
  factory: McpServerFactory;
  /** Sessions held at once; an `initialize` beyond it is answered 503. */
  max: number;
  /** A session unused this long is closed (its client re-initializes on the 404). */
  idleMs: number;
  maxBodyBytes: number;
  onerror?: (error: Error) => void;
}

/**
 * Sessions one verified operator holds at once, whatever client they use. Without it, one
 * token, even read-only, could open every slot of `max` in seconds and keep
 * every other operator's 2025-era client out until the idle time ran out.
 * Beyond it, that caller's least recently used session is closed: a client
 * that re-initializes after a crash loses only its own abandoned sessions.
 */
export const MAX_SESSIONS_PER_OPERATOR = 16;

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  close(): Promise<void>;
  /** Whose session it is: another caller presenting its id is told it does not exist. */
  principal: string;
  /** The verified operator alone (any client): what the per-operator share counts; '' without OAuth. */
  operator: string;
  lastSeen: number;
}

/**
 * 2025-era clients over HTTP, with sessions (`Mcp-Session-Id`): one server
 * instance per session, so the server knows the client's name and whether it
 * can ask its user, and an `elicitation/create` it sends is answered on a
 * later POST of the same session. The SDK's default for 2025 traffic is
 * stateless (a fresh instance per request, which knows neither).
 *
 * Sessions live in this process: several replicas need sticky sessions.
 */
export class LegacySessions {
  private readonly sessions = new Map<string, Session>();
  /** Sessions being set up (their `initialize` is in progress), counted against `max`. */
  private opening = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: LegacySessionsOptions) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1_000, options.idleMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  async handle(request: Request, options: { authInfo?: AuthInfo; parsedBody?: unknown }): Promise<Response> {
    const { authInfo } = options;
    const id = request.headers.get('mcp-session-id');
    if (id !== null) {
      const session = this.sessions.get(id);
      if (session === undefined || session.principal !== principalOf(authInfo)) return jsonRpcError(404, -32001, 'Session not found: initialize a new session.');
      session.lastSeen = Date.now();
      return session.transport.handleRequest(request, options);
    }
    if (request.method !== 'POST') return jsonRpcError(400, -32000, 'Bad Request: Mcp-Session-Id header is required.');
    if (this.sessions.size + this.opening >= this.options.max) {
      return jsonRpcError(503, -32000, 'Too many open sessions: retry later.', { 'retry-after': '30' });
    }
    this.opening++;
    try {
      return await this.open(request, options);
    } finally {
      this.opening--;
    }
  }

  /** Closes every session (their open streams end); used by a shutdown. */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((session) => session.close()));
    this.sessions.clear();
  }

  private async open(request: Request, options: { authInfo?: AuthInfo; parsedBody?: unknown }): Promise<Response> {
    const { authInfo } = options;
    const principal = principalOf(authInfo);
    const server = await this.options.factory({ era: 'legacy', ...(authInfo === undefined ? {} : { authInfo }), requestInfo: request });
    let sessionId: string | undefined;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize: this.options.maxBodyBytes,
      onsessioninitialized: (newId) => {
        sessionId = newId;
        const operator = authInfo === undefined ? '' : operatorKey(operatorFromAuthInfo(authInfo));
        this.sessions.set(newId, { transport, principal, operator, lastSeen: Date.now(), close: () => server.close().catch(() => {}) });
        this.evictBeyondShare(operator);
      },
      onsessionclosed: (closedId) => {
        this.sessions.delete(closedId);
      },
    });
    transport.onerror = (error) => this.options.onerror?.(error);
    transport.onclose = () => {
      if (sessionId !== undefined) this.sessions.delete(sessionId);
    };
    await server.connect(transport);
    const response = await transport.handleRequest(request, options);
    // Not an initialize request: the transport refused it and no session exists to keep.
    if (sessionId === undefined) await server.close().catch(() => {});
    return response;
  }

  /**
   * Closes the operator's least recently used sessions beyond its share, counted across all
   * its clients (registering more clients must not buy more sessions). Authenticated callers
   * only: without OAuth every caller is the same nobody.
   */
  private evictBeyondShare(operator: string): void {
    if (operator === '') return;
    const own = [...this.sessions].filter(([, session]) => session.operator === operator).sort(([, a], [, b]) => a.lastSeen - b.lastSeen);
    for (const [id, session] of own.slice(0, Math.max(0, own.length - MAX_SESSIONS_PER_OPERATOR))) {
      this.sessions.delete(id);
      void session.close();
    }
  }

  private sweep(): void {
    const cutoff = Date.now() - this.options.idleMs;
    for (const [id, session] of this.sessions) {
      if (session.lastSeen < cutoff) {
        this.sessions.delete(id);
        void session.close();
      }
    }
  }
}

/**
 * The caller a session belongs to: the verified operator (issuer and subject)
 * and the client they signed in with, so a refreshed token keeps the session
 * and nobody else can use it; nobody when OAuth is off.
 */
export function principalOf(authInfo: AuthInfo | undefined): string {
  if (authInfo === undefined) return '';
  return `${authInfo.clientId}\u0000${operatorKey(operatorFromAuthInfo(authInfo))}`;
}

export function jsonRpcError(status: number, code: number, message: string, headers: Record<string, string> = {}, id: string | number | null = null): Response {
  return Response.json({ jsonrpc: '2.0', error: { code, message }, id }, { status, headers });
}
