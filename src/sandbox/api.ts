import type { Device, User } from '../pingone/model.js';
import type { TokenService } from './auth.js';
import { FilterError, compareText, evaluateFilter, parseFilter, userMatches, type FilterDialect, type FilterExpr } from './filter.js';
import { p1Error } from './p1error.js';
import { errorReply, halReply, p1Reply, type Reply } from './reply.js';
import type { RouteMatch } from './routes.js';
import { deviceActionFor, userActionFor, type ExternalCorrelation, type SandboxActivity, type SandboxStore } from './store.js';

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

const invalidValue = (target: string, message: string): Reply =>
  p1Reply(400, 'INVALID_DATA', 'The request could not be completed. One or more validation errors were in the request.', [
    { code: 'INVALID_VALUE', target, message },
  ]);

function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** PingOne's limit on the external correlation headers; anything else is not copied into the audit record. */
const EXTERNAL_ID = /^[A-Za-z0-9._/@=#+-]{1,100}$/;

function externalCorrelation(headers: Record<string, string>): ExternalCorrelation {
  const result: ExternalCorrelation = {};
  const transactionId = headers['x-ping-external-transaction-id'];
  const sessionId = headers['x-ping-external-session-id'];
  if (transactionId !== undefined && EXTERNAL_ID.test(transactionId)) result.transactionId = transactionId;
  if (sessionId !== undefined && EXTERNAL_ID.test(sessionId)) result.sessionId = sessionId;
  return result;
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

  handle(call: ApiCall): Reply {
    const denied = this.ctx.tokens.checkBearer(call.headers['authorization'], call.now);
    if (denied !== undefined) return denied;
    // PingOne answers 403, not 404, for an environment that does not exist.
    if (call.match.managementEnvId !== this.ctx.environmentId) {
      return errorReply(403, p1Error('ACCESS_FAILED', 'The request could not be completed. You do not have access to this resource.'));
    }
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
      case 'activities':
        return this.activities(call);
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

  private searchUsers(call: ApiCall): Reply {
    let filter: FilterExpr | undefined;
    const filterText = call.query['filter'];
    if (filterText !== undefined) {
      try {
        filter = parseFilter(filterText);
      } catch (error) {
        if (!(error instanceof FilterError)) throw error;
        return p1Reply(400, 'INVALID_DATA', 'The request could not be completed. One or more validation errors were in the request.', [
          { code: 'INVALID_FILTER', target: 'filter', message: error.message },
        ]);
      }
    }
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

  private writeContext(call: ApiCall): { now: Date; correlationId: string; externalCorrelation: ExternalCorrelation } {
    return { now: call.now, correlationId: call.correlationId, externalCorrelation: externalCorrelation(call.headers) };
  }

  private activities(call: ApiCall): Reply {
    let filter: FilterExpr | undefined;
    const filterText = call.query['filter'];
    if (filterText !== undefined) {
      try {
        filter = parseFilter(filterText, ACTIVITY_FILTER_DIALECT);
      } catch (error) {
        if (!(error instanceof FilterError)) throw error;
        return p1Reply(400, 'INVALID_DATA', 'The request could not be completed. One or more validation errors were in the request.', [
          { code: 'INVALID_FILTER', target: 'filter', message: error.message },
        ]);
      }
    }
    const selected = this.ctx.store.activities.filter((a) => filter === undefined || activityMatches(filter, a));
    return halReply({
      _links: { self: { href: `${this.envUrl()}/activities` } },
      _embedded: { activities: selected.map(activityView) },
      count: selected.length,
      size: selected.length,
    });
  }
}

const ACTIVITY_FILTER_DIALECT: FilterDialect = {
  attributes: ['correlationid', 'recordedat', 'action.type', 'resources.id'],
  operators: ['eq', 'sw', 'gt', 'ge', 'lt', 'le'],
};

function activityMatches(expr: FilterExpr, activity: SandboxActivity): boolean {
  return evaluateFilter(expr, (c) => {
    switch (c.attribute) {
      case 'recordedat': {
        // Compared as instants: "…00Z" and "…00.000Z" are the same time.
        const actual = Date.parse(activity.recordedAt);
        const expected = Date.parse(c.value);
        if (Number.isNaN(expected)) return false;
        return compareText(String(actual).padStart(16, '0'), c.operator, String(expected).padStart(16, '0'), false);
      }
      case 'correlationid':
        return compareText(activity.correlationId, c.operator, c.value, true);
      case 'action.type':
        return compareText(activity.action, c.operator, c.value, true);
      case 'resources.id':
        return [activity.userId, activity.resourceId].some((id) => compareText(id, c.operator, c.value, true));
      default:
        return false;
    }
  });
}

/** The audit record in the shape PingOne's activities API uses (simplified). */
function activityView(activity: SandboxActivity): Record<string, unknown> {
  const resources: Array<{ type: string; id: string }> = [{ type: 'USER', id: activity.userId }];
  if (activity.resourceId !== activity.userId) resources.push({ type: 'DEVICE', id: activity.resourceId });
  return {
    id: activity.id,
    recordedAt: activity.recordedAt,
    correlationId: activity.correlationId,
    action: { type: activity.action },
    resources,
    result: { status: 'SUCCESS' },
    externalCorrelation: activity.externalCorrelation,
  };
}
