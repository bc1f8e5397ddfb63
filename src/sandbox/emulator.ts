import { randomBytes, randomUUID } from 'node:crypto';
import { STATUS_CODES, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Uuid } from '../ids.js';
import type { Device, User } from '../pingone/model.js';
import { ManagementApi, type ApiCall } from './api.js';
import { TokenService, type ClientAuthMethod } from './auth.js';
import { FaultQueue, type FaultAction, type FaultController } from './faults.js';
import { oauthErrorForStatus, p1ErrorForStatus } from './p1error.js';
import { RollingRateLimiter } from './ratelimit.js';
import { JSON_TYPE, jsonReply, lowerCaseKeys, p1Reply, type Reply } from './reply.js';
import { classifyRoute, type RouteName } from './routes.js';
import { demoSeed, type SandboxSeed } from './seed.js';
import { SandboxStore, type SandboxActivity } from './store.js';

/**
 * A PingOne Management API + token endpoint emulator on 127.0.0.1, used by the
 * tests and the offline demo. It is a real HTTP server so that the client code
 * under test runs its genuine transport, timeouts and error handling.
 */

export type EmulatorOptions = {
  seed?: SandboxSeed;
  clientId?: string;
  clientSecret?: string;
  tokenAuthMethod?: ClientAuthMethod;
  tokenLifetimeSeconds?: number;
  /** Added before every response. */
  latencyMs?: number;
  /** Requests beyond this many in a rolling second get 429 REQUEST_LIMITED. */
  rateLimitPerSecond?: number;
};

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
  /** Set when the connection closed before a whole answer was written: the client gave up (or a fault/close cut it). */
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
  readonly activities: SandboxActivity[];
  readonly faults: FaultController;
  /** Snapshots (clones) of the stored state as of now. */
  getUser(id: string): User | undefined;
  getDevice(userId: string, deviceId: string): Device | undefined;
  listUsers(): User[];
  listDevices(userId: string): Device[] | undefined;
  /** Insert or replace; the emulator keeps its own copy. */
  putUser(user: User): void;
  /** Insert or replace a device of an existing user. */
  putDevice(userId: string, device: Device): void;
  /** Expire every issued token (a client should fetch a new one on the 401). */
  expireTokens(): void;
  /** Stops listening and destroys every open socket, hanging requests included. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
/** Past this much upload, stop draining and drop the connection. */
const MAX_DRAIN_BYTES = 8 * 1024 * 1024;

type ReceivedBody = { text: string; tooLarge: boolean };

function readBody(req: IncomingMessage): Promise<ReceivedBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let total = 0;
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > MAX_DRAIN_BYTES) {
        req.destroy();
        reject(new Error('request body far too large'));
        return;
      }
      // Keep only the first 64 KiB; the rest is drained so the 413 reaches a client still uploading.
      const room = MAX_BODY_BYTES - kept;
      if (room > 0) {
        const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
        chunks.push(part);
        kept += part.length;
      }
    });
    req.on('end', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), tooLarge: total > MAX_BODY_BYTES }));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('client went away'));
    });
  });
}

function headerRecord(req: IncomingMessage): Record<string, string> {
  // fromEntries defines own properties, so a header named __proto__ is just data.
  return Object.fromEntries(
    Object.entries(req.headers).flatMap(([name, value]) =>
      value === undefined ? [] : [[name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value]],
    ),
  );
}

function queryRecord(rawQuery: string): Record<string, string> {
  const first = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(rawQuery)) if (!first.has(name)) first.set(name, value);
  return Object.fromEntries(first);
}

function validateOptions(options: EmulatorOptions): void {
  const nonNegative = (name: string, value: number | undefined): void => {
    if (value !== undefined && !(value >= 0 && Number.isFinite(value))) throw new RangeError(`${name} must be a finite number >= 0`);
  };
  nonNegative('tokenLifetimeSeconds', options.tokenLifetimeSeconds);
  nonNegative('latencyMs', options.latencyMs);
}

const HTML_PAGE = (status: number): string => {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  return `<!DOCTYPE html>\n<html><head><title>${title}</title></head><body><center><h1>${title}</h1></center><hr><center>gateway</center></body></html>\n`;
};

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  validateOptions(options);
  const seed = structuredClone(options.seed ?? demoSeed());
  const store = new SandboxStore(seed);
  const environmentId = seed.environmentId;
  const clientId = options.clientId ?? randomUUID();
  // The sandbox has no fixed secret: a fixed one would end up in someone's real config.
  const clientSecret = options.clientSecret ?? randomBytes(32).toString('base64url');
  const tokenAuthMethod = options.tokenAuthMethod ?? 'client_secret_basic';
  const latencyMs = options.latencyMs ?? 0;
  const tokens = new TokenService({
    environmentId,
    clientId,
    clientSecret,
    method: tokenAuthMethod,
    lifetimeSeconds: options.tokenLifetimeSeconds ?? 3600,
  });
  const limiter = options.rateLimitPerSecond === undefined ? undefined : new RollingRateLimiter(options.rateLimitPerSecond);
  const faults = new FaultQueue();
  const requests: RecordedRequest[] = [];
  // Aborting cancels latency and delay-fault sleeps so close() is prompt.
  const closing = new AbortController();
  let api: ManagementApi | undefined;

  function respond(call: Call): Reply {
    if (call.bodyTooLarge) {
      return p1Reply(413, 'INVALID_REQUEST', 'The request could not be completed. The request body is too large.', [
        { code: 'INVALID_VALUE', target: 'body', message: `The request body exceeds ${MAX_BODY_BYTES} bytes.` },
      ]);
    }
    const { match } = call;
    if (match.route === 'token' && match.authEnvId !== undefined) {
      return tokens.handleTokenRequest({
        authEnvId: match.authEnvId,
        headers: call.headers,
        contentType: call.contentType,
        body: call.body,
        now: call.now,
      });
    }
    if (match.managementEnvId !== undefined && api !== undefined) return api.handle(call);
    return p1Reply(404, 'NOT_FOUND', 'The requested resource was not found.');
  }

  function send(res: ServerResponse, reply: Reply, correlationId: string): void {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(reply.status, {
      ...reply.headers,
      'correlation-id': correlationId,
      'content-length': String(Buffer.byteLength(reply.body)),
    });
    res.end(reply.body);
  }

  async function applyFault(action: FaultAction, call: Call, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const cid = call.correlationId;
    switch (action.kind) {
      case 'status': {
        const headers = action.headers !== undefined ? lowerCaseKeys(action.headers) : action.status === 429 ? { 'retry-after': '1' } : {};
        const tokenShaped = call.match.route === 'token' && (action.status === 400 || action.status === 401);
        const body = action.body !== undefined ? action.body : tokenShaped ? oauthErrorForStatus(action.status) : p1ErrorForStatus(action.status);
        const reply = jsonReply(action.status, body, headers);
        send(res, reply, cid);
        return;
      }
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang':
        // Nothing is written; close() or the client's abort ends the socket.
        return;
      case 'stall-body': {
        const genuine = respond(call);
        res.writeHead(200, { 'content-type': JSON_TYPE, 'correlation-id': cid });
        res.write(genuine.body.slice(0, Math.max(1, Math.floor(genuine.body.length / 2))));
        return;
      }
      case 'delay':
        await sleep(action.ms, undefined, { signal: closing.signal });
        send(res, respond(call), cid);
        return;
      case 'html':
        send(res, { status: action.status, headers: { 'content-type': 'text/html; charset=utf-8' }, body: HTML_PAGE(action.status) }, cid);
        return;
      case 'truncated': {
        // The request is processed (a write takes effect); only the answer is lost.
        const genuine = respond(call);
        const cut = genuine.body.slice(0, Math.max(1, Math.floor(genuine.body.length / 2)));
        send(res, { status: 200, headers: { 'content-type': JSON_TYPE }, body: cut }, cid);
        return;
      }
      case 'raw':
        send(res, { status: action.status, headers: { 'content-type': action.contentType ?? JSON_TYPE }, body: action.body }, cid);
        return;
    }
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

    const now = new Date();
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
      now,
    };
    const fault = faults.take(match.route, method);
    const admitted = limiter === undefined || limiter.admit(now.getTime());
    if (latencyMs > 0) await sleep(latencyMs, undefined, { signal: closing.signal });
    if (fault !== undefined) {
      await applyFault(fault, call, req, res);
      return;
    }
    if (!admitted) {
      send(res, jsonReply(429, p1ErrorForStatus(429), { 'retry-after': '1' }), correlationId);
      return;
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
  return {
    apiUrl,
    authUrl,
    environmentId,
    clientId,
    clientSecret,
    tokenAuthMethod,
    requests,
    issuedTokens: tokens.issued,
    activities: store.activities,
    faults,
    getUser: (id) => store.getUser(id),
    getDevice: (userId, deviceId) => store.getDevice(userId, deviceId),
    listUsers: () => store.listUsers(new Date()),
    listDevices: (userId) => store.listDevices(userId),
    putUser: (user) => store.putUser(user),
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
}

/** A request as the API sees it, plus what only the HTTP layer knows. */
type Call = ApiCall & { bodyTooLarge: boolean };
