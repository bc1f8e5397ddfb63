import type { Device, User } from '../pingone/model.js';
import type { TokenService } from './auth.js';
import { ActionContentType } from '../pingone/model.js';
import { FilterError, parseFilter, userMatches, type FilterDialect, type FilterExpr } from './filter.js';
import { passwordView } from './password.js';
import { p1Error } from './p1error.js';
import { errorReply, halReply, p1Reply, type Reply } from './reply.js';
import type { RouteMatch } from './routes.js';
import { DEMO_PASSWORD_POLICY_ID, type SandboxPassword } from './seed.js';
import { deviceActionFor, userActionFor, type ExternalCorrelation, type SandboxStore } from './store.js';

/**
 * The Management API endpoints, as pure "call in, Reply out" functions over
 * the store. Transport concerns (faults, latency, rate limits) live in the
 * emulator; this file only decides what PingOne would answer.
 */

export type ApiCall = {
  match: RouteMatch;
  path: string;
  rawQuery: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  contentType: string | undefined;
  body: string;
  correlationId: string;
  now: Date;
};

export type ApiContext = {
  store: SandboxStore;
  tokens: TokenService;
  environmentId: string;
  /** Origin + /v1, for the absolute `_links` hrefs PingOne returns. */
  apiUrl: string;
};

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 200;

const notFound = (): Reply => p1Reply(404, 'NOT_FOUND', 'The requested resource was not found.');

const unsupportedMediaType = (contentType: string | undefined): Reply =>
  p1Reply(415, 'INVALID_REQUEST', 'The request could not be completed. The Content-Type is not supported for this resource.', [
    { code: 'INVALID_VALUE', target: 'Content-Type', message: `Unsupported Content-Type: ${contentType ?? '(none)'}` },
  ]);

const invalidData = (code: string, target: string, message: string): Reply =>
  p1Reply(400, 'INVALID_DATA', 'The request could not be completed. One or more validation errors were in the request.', [
    { code, target, message },
  ]);

const invalidValue = (target: string, message: string): Reply => invalidData('INVALID_VALUE', target, message);

function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** As PingOne's spec describes the external correlation headers: other characters become `_`, 100 characters at most. */
export function externalId(value: string): string | undefined {
  const cleaned = value.replace(/[^A-Za-z0-9._/@=#+-]/g, '_').slice(0, 100);
  return cleaned === '' ? undefined : cleaned;
}

function externalCorrelation(headers: Record<string, string>): ExternalCorrelation {
  const result: ExternalCorrelation = {};
  const transactionId = externalId(headers['x-ping-external-transaction-id'] ?? '');
  const sessionId = externalId(headers['x-ping-external-session-id'] ?? '');
  if (transactionId !== undefined) result.transactionId = transactionId;
  if (sessionId !== undefined) result.sessionId = sessionId;
  return result;
}

/** The `filter` query parameter parsed in `dialect`, or the 400 PingOne answers for a bad one. */
export function filterFromQuery(query: Record<string, string>, dialect?: FilterDialect): { filter: FilterExpr | undefined } | Reply {
  const text = query['filter'];
  if (text === undefined) return { filter: undefined };
  try {
    return { filter: parseFilter(text, dialect) };
  } catch (error) {
    if (!(error instanceof FilterError)) throw error;
    return invalidData('INVALID_FILTER', 'filter', error.message);
  }
}

function positiveInteger(text: string): number | undefined {
  if (!/^[0-9]{1,9}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 ? n : undefined;
}

/** Cursors are opaque to clients; inside they are just an offset. */
function encodeCursor(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function decodeCursor(cursor: string): number | undefined {
  const match = /^offset:([0-9]{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

export class ManagementApi {
  constructor(private readonly ctx: ApiContext) {}

  /** The answer PingOne gives before looking at the route (token, environment); undefined when the call may proceed. */
  refusal(call: Pick<ApiCall, 'headers' | 'match' | 'now'>): Reply | undefined {
    const denied = this.ctx.tokens.checkBearer(call.headers['authorization'], call.now);
    if (denied !== undefined) return denied;
    // PingOne answers 403, not 404, for an environment that does not exist.
    if (call.match.managementEnvId !== this.ctx.environmentId) {
      return errorReply(403, p1Error('ACCESS_FAILED', 'The request could not be completed. You do not have access to this resource.'));
    }
    return undefined;
  }

  handle(call: ApiCall): Reply {
    const refused = this.refusal(call);
    if (refused !== undefined) return refused;
    const { userId = '', deviceId = '' } = call.match;
    switch (call.match.route) {
      case 'users.search':
        return this.searchUsers(call);
      case 'user.get': {
        const user = this.ctx.store.getUser(userId, call.now);
        return user === undefined ? notFound() : halReply(this.userView(user));
      }
      case 'user.action':
        return this.userAction(call, userId);
      case 'devices.list':
        return this.listDevices(call, userId);
      case 'device.get': {
        const device = this.ctx.store.getDevice(userId, deviceId, call.now);
        return device === undefined ? notFound() : halReply(this.deviceView(userId, device));
      }
      case 'device.action':
        return this.deviceAction(call, userId, deviceId);
      case 'password.get': {
        const password = this.ctx.store.getPassword(userId, call.now);
        return password === undefined ? notFound() : halReply(this.passwordView(userId, password, call.now));
      }
      case 'password.action':
        return this.passwordAction(call, userId);
      case 'token':
      case 'unknown':
        return notFound();
    }
  }

  private envUrl(): string {
    return `${this.ctx.apiUrl}/environments/${this.ctx.environmentId}`;
  }

  private userView(user: User): User {
    return { ...user, _links: { self: { href: `${this.envUrl()}/users/${user.id}` } } };
  }

  private deviceView(userId: string, device: Device): Device {
    return { ...device, _links: { self: { href: `${this.envUrl()}/users/${userId}/devices/${device.id}` } } };
  }

  private passwordView(userId: string, password: SandboxPassword, now: Date): object {
    return { ...passwordView(password, DEMO_PASSWORD_POLICY_ID, now), _links: { self: { href: `${this.envUrl()}/users/${userId}/password` } } };
  }

  private searchUsers(call: ApiCall): Reply {
    const parsed = filterFromQuery(call.query);
    if ('status' in parsed) return parsed;
    const { filter } = parsed;
    const filterText = call.query['filter'];
    const limitText = call.query['limit'];
    const asked = limitText === undefined ? DEFAULT_LIMIT : positiveInteger(limitText);
    if (asked === undefined) return invalidValue('limit', 'limit must be a positive integer.');
    // PingOne caps the page size silently; clients must follow `next`, not trust `limit`.
    const limit = Math.min(asked, MAX_LIMIT);
    const cursorText = call.query['cursor'];
    const offset = cursorText === undefined ? 0 : decodeCursor(cursorText);
    if (offset === undefined) return invalidValue('cursor', 'The cursor is invalid.');

    const matching = this.ctx.store.listUsers(call.now).filter((user) => filter === undefined || userMatches(filter, user));
    const page = matching.slice(offset, offset + limit);
    const base = `${this.envUrl()}/users`;
    const links: Record<string, { href: string }> = { self: { href: call.rawQuery === '' ? base : `${base}?${call.rawQuery}` } };
    if (offset + page.length < matching.length) {
      const next = new URLSearchParams();
      if (filterText !== undefined) next.set('filter', filterText);
      next.set('limit', String(limit));
      next.set('cursor', encodeCursor(offset + page.length));
      links['next'] = { href: `${base}?${next.toString().replace(/\+/g, '%20')}` };
    }
    return halReply({
      _links: links,
      _embedded: { users: page.map((user) => this.userView(user)) },
      count: matching.length,
      size: page.length,
    });
  }

  private userAction(call: ApiCall, userId: string): Reply {
    if (this.ctx.store.getUser(userId, call.now) === undefined) return notFound();
    const action = userActionFor(mediaTypeOf(call.contentType));
    if (action === undefined) return unsupportedMediaType(call.contentType);
    const user = this.ctx.store.applyUserAction(userId, action, this.writeContext(call));
    return user === undefined ? notFound() : halReply(this.userView(user));
  }

  private listDevices(call: ApiCall, userId: string): Reply {
    const devices = this.ctx.store.listDevices(userId, call.now);
    if (devices === undefined) return notFound();
    return halReply({
      _links: { self: { href: `${this.envUrl()}/users/${userId}/devices` } },
      _embedded: { devices: devices.map((device) => this.deviceView(userId, device)) },
      count: devices.length,
      size: devices.length,
    });
  }

  private deviceAction(call: ApiCall, userId: string, deviceId: string): Reply {
    if (this.ctx.store.getDevice(userId, deviceId, call.now) === undefined) return notFound();
    const action = deviceActionFor(mediaTypeOf(call.contentType));
    if (action === undefined) return unsupportedMediaType(call.contentType);
    const device = this.ctx.store.applyDeviceAction(userId, deviceId, action, this.writeContext(call));
    return device === undefined ? notFound() : halReply(this.deviceView(userId, device));
  }

  private passwordAction(call: ApiCall, userId: string): Reply {
    if (this.ctx.store.getUser(userId, call.now) === undefined) return notFound();
    if (mediaTypeOf(call.contentType) !== ActionContentType.unlockPassword) return unsupportedMediaType(call.contentType);
    const password = this.ctx.store.unlockPassword(userId, this.writeContext(call));
    if (password === undefined) return notFound();
    if (password === 'external') {
      return invalidValue('password', 'The user authenticates with an external identity provider and has no password here.');
    }
    return halReply(this.passwordView(userId, password, call.now));
  }

  private writeContext(call: ApiCall): { now: Date; correlationId: string; externalCorrelation: ExternalCorrelation } {
    return { now: call.now, correlationId: call.correlationId, externalCorrelation: externalCorrelation(call.headers) };
  }
}
