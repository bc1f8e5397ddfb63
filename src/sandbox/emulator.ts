import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Uuid } from '../ids.js';
import type { Device, User } from '../pingone/model.js';
import { ManagementApi, type ApiCall } from './api.js';
import { TokenService, type ClientAuthMethod } from './auth.js';
import { p1Reply, type Reply } from './reply.js';
import { classifyRoute, type RouteName } from './routes.js';
import { demoSeed, type SandboxPassword, type SandboxSeed } from './seed.js';
import { SandboxStore, type SandboxActivity } from './store.js';
import { MAX_BODY_BYTES, headerRecord, queryRecord, readBody } from './wire.js';

/**
 * A PingOne Management API + token endpoint emulator on 127.0.0.1, for the
 * offline demo (`--sandbox`) and the tests. It is a real HTTP server so that the
 * client code runs its genuine transport, timeouts and error handling.
 *
 * It models PingOne and nothing else. Whatever only tests need (faults,
 * latency, rate limits, extra endpoints) plugs in through `intercept`; see
 * test/support/emulator.ts.
 */

export type EmulatorOptions = {
  seed?: SandboxSeed;
  clientId?: string;
  clientSecret?: string;
  tokenAuthMethod?: ClientAuthMethod;
  tokenLifetimeSeconds?: number;
  /** Undocumented in PingOne: does an account unlock also lift a password lockout? Default false. */
  accountUnlockClearsPasswordLockout?: boolean;
  /** Sees every request first and may answer it instead of the emulator. */
  intercept?: Intercept;
};

/**
 * One request in flight, as an intercept sees it. An intercept returns true
 * when it took the exchange over (it answered, or chose to leave the client
 * waiting); false lets the emulator answer as PingOne would.
 */
export type Exchange = {
  readonly request: RecordedRequest;
  readonly correlationId: string;
  /** Aborted when the emulator closes: sleeps in an intercept should use it. */
  readonly signal: AbortSignal;
  /** PingOne's own answer; a write takes effect when this is called. */
  answer(): Reply;
  /** The refusal PingOne gives before looking at the route (bearer token, environment), if any. */
  refusal(): Reply | undefined;
  send(reply: Reply): void;
  /** The raw connection, for interceptions that break the wire itself. */
  readonly raw: { req: IncomingMessage; res: ServerResponse };
};
export type Intercept = (exchange: Exchange, emulator: Emulator) => boolean | Promise<boolean>;

export type RecordedRequest = {
  method: string;
  /** As received, percent-encoding intact, without the query string. */
  path: string;
  query: Record<string, string>;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  contentType?: string;
  body: string;
  route: RouteName;
  /** Epoch ms when the request line and body had arrived. */
  receivedAt: number;
  /** The status sent, once the whole answer was written. */
  status?: number;
  /** Set when the connection closed before a whole answer was written: the client gave up (or an intercept cut it). */
  unanswered?: true;
};

export interface Emulator {
  /** `http://127.0.0.1:PORT/v1` — the `/v1` is part of the base, as with PingOne. */
  readonly apiUrl: string;
  /** `http://127.0.0.1:PORT` — the token endpoint is `${authUrl}/${environmentId}/as/token`. */
  readonly authUrl: string;
  readonly environmentId: Uuid;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tokenAuthMethod: ClientAuthMethod;
  readonly requests: RecordedRequest[];
  readonly issuedTokens: string[];
  /** PingOne's own audit events for the writes it took (USER.UNLOCKED, PASSWORD.UNLOCKED, …). */
  readonly activities: SandboxActivity[];
  /** Snapshots (clones) of the stored state as of now. */
  getUser(id: string): User | undefined;
  getPassword(userId: string): SandboxPassword | undefined;
  getDevice(userId: string, deviceId: string): Device | undefined;
  listUsers(): User[];
  listDevices(userId: string): Device[] | undefined;
  /** Insert or replace; the emulator keeps its own copy. */
  putUser(user: User): void;
  /** Insert or replace the password state of an existing user. */
  putPassword(userId: string, password: SandboxPassword): void;
  /** Insert or replace a device of an existing user; only documented device types. */
  putDevice(userId: string, device: Device): void;
  /** Expire every issued token (a client should fetch a new one on the 401). */
  expireTokens(): void;
  /** Stops listening and destroys every open socket, hanging requests included. */
  close(): Promise<void>;
}

/** A request as the API sees it, plus what only the HTTP layer knows. */
type Call = ApiCall & { bodyTooLarge: boolean };

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const lifetime = options.tokenLifetimeSeconds;
  if (lifetime !== undefined && !(lifetime >= 0 && Number.isFinite(lifetime))) throw new RangeError('tokenLifetimeSeconds must be a finite number >= 0');
  const seed = structuredClone(options.seed ?? demoSeed());
  const store = new SandboxStore(seed, { accountUnlockClearsPasswordLockout: options.accountUnlockClearsPasswordLockout ?? false });
  const environmentId = seed.environmentId;
  const clientId = options.clientId ?? randomUUID();
  // The sandbox has no fixed secret: a fixed one would end up in someone's real config.
  const clientSecret = options.clientSecret ?? randomBytes(32).toString('base64url');
  const tokenAuthMethod = options.tokenAuthMethod ?? 'client_secret_basic';
  const tokens = new TokenService({ environmentId, clientId, clientSecret, method: tokenAuthMethod, lifetimeSeconds: lifetime ?? 3600 });
  const requests: RecordedRequest[] = [];
  // Aborting cancels an intercept's sleeps so close() is prompt.
  const closing = new AbortController();
  let api: ManagementApi | undefined;
  let emulator: Emulator | undefined;

  function respond(call: Call): Reply {
    if (call.bodyTooLarge) {
      return p1Reply(413, 'INVALID_REQUEST', 'The request could not be completed. The request body is too large.', [
        { code: 'INVALID_VALUE', target: 'body', message: `The request body exceeds ${MAX_BODY_BYTES} bytes.` },
      ]);
    }
    const { match } = call;
    if (match.route === 'token' && match.authEnvId !== undefined) {
      return tokens.handleTokenRequest({ authEnvId: match.authEnvId, headers: call.headers, contentType: call.contentType, body: call.body, now: call.now });
    }
    if (match.managementEnvId !== undefined && api !== undefined) return api.handle(call);
    return p1Reply(404, 'NOT_FOUND', 'The requested resource was not found.');
  }

  function send(res: ServerResponse, reply: Reply, correlationId: string): void {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(reply.status, { ...reply.headers, 'correlation-id': correlationId, 'content-length': String(Buffer.byteLength(reply.body)) });
    res.end(reply.body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const correlationId = randomUUID();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    const headers = headerRecord(req);
    const contentType = headers['content-type'];
    const received = await readBody(req);
    const match = classifyRoute(method, path);
    const query = queryRecord(rawQuery);

    const recorded: RecordedRequest = { method, path, query, headers, body: received.text, route: match.route, receivedAt: Date.now() };
    if (contentType !== undefined) recorded.contentType = contentType;
    requests.push(recorded);
    res.once('close', () => {
      if (res.writableFinished) recorded.status = res.statusCode;
      else recorded.unanswered = true;
    });

    const call: Call = {
      match,
      path,
      rawQuery,
      query,
      headers,
      contentType,
      body: received.text,
      bodyTooLarge: received.tooLarge,
      correlationId,
      now: new Date(),
    };
    if (options.intercept !== undefined && emulator !== undefined) {
      const exchange: Exchange = {
        request: recorded,
        correlationId,
        signal: closing.signal,
        // A late answer (after an intercept's delay) sees the state and clock of its own moment.
        answer: () => respond({ ...call, now: new Date() }),
        refusal: () => api?.refusal({ ...call, now: new Date() }),
        send: (reply) => send(res, reply, correlationId),
        raw: { req, res },
      };
      if (await options.intercept(exchange, emulator)) return;
    }
    send(res, respond(call), correlationId);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // Client went away, emulator closing, or a bug: never crash the process.
      if (!res.headersSent && !res.destroyed && !closing.signal.aborted) {
        send(res, p1Reply(500, 'UNEXPECTED_ERROR', 'An unexpected error occurred.'), randomUUID());
      } else {
        res.destroy();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const authUrl = `http://127.0.0.1:${address.port}`;
  const apiUrl = `${authUrl}/v1`;
  api = new ManagementApi({ store, tokens, environmentId, apiUrl });

  let closed: Promise<void> | undefined;
  emulator = {
    apiUrl,
    authUrl,
    environmentId,
    clientId,
    clientSecret,
    tokenAuthMethod,
    requests,
    issuedTokens: tokens.issued,
    activities: store.activities,
    getUser: (id) => store.getUser(id),
    getPassword: (userId) => store.getPassword(userId),
    getDevice: (userId, deviceId) => store.getDevice(userId, deviceId),
    listUsers: () => store.listUsers(new Date()),
    listDevices: (userId) => store.listDevices(userId),
    putUser: (user) => store.putUser(user),
    putPassword: (userId, password) => store.putPassword(userId, password),
    putDevice: (userId, device) => store.putDevice(userId, device),
    expireTokens: () => tokens.expireAll(),
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
  return emulator;
}
