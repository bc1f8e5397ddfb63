import type { z } from 'zod';
import type { Uuid } from '../ids.js';
import { PingOneApiError, PingOneResponseError } from './errors.js';
import type { CallScope, HttpAnswer, HttpExchange } from './http.js';
import { errorCodeOrUndefined, uuidLikeOrUndefined } from './echoes.js';
import { ActionContentType, P1ErrorSchema } from './model.js';
import { DeviceRecordPageSchema, DeviceRecordSchema, UserRecordPageSchema, UserRecordSchema, type DeviceRecord, type UserRecord } from './records.js';
import type { TokenSource } from './token.js';

/** A successful PingOne answer and what our audit trail needs from it. */
export interface Reply<T> {
  data: T;
  status: number;
  correlationId: string | undefined;
}

/**
 * The PingOne operations the tools use. Tools depend on this, not on HTTP.
 * Answers come back as records (`records.ts`): display text made safe, identity
 * kept raw, IDs checked; an answer about another user or device than the one
 * asked for is refused as unusable.
 */
export interface PingOneApi {
  readonly environmentId: Uuid;
  getUser(userId: Uuid, scope: CallScope): Promise<Reply<UserRecord>>;
  /** Users matching a SCIM filter; the filter must come from `filter.ts`, never from raw agent text. */
  findUsers(filter: string, limit: number, scope: CallScope): Promise<Reply<UserRecord[]>>;
  listDevices(userId: Uuid, scope: CallScope): Promise<Reply<DeviceRecord[]>>;
  getDevice(userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<DeviceRecord>>;
  unlockUser(userId: Uuid, scope: CallScope): Promise<Reply<UserRecord>>;
  unblockDevice(userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<DeviceRecord>>;
  unlockDevice(userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<DeviceRecord>>;
}

export interface PingOneClientOptions {
  /** API base including `/v1`, without a trailing slash. */
  apiUrl: string;
  environmentId: Uuid;
  tokens: TokenSource;
  http: HttpExchange;
}

/** The Management API over HTTP: paths, content types, auth and error mapping. */
export class PingOneClient implements PingOneApi {
  readonly environmentId: Uuid;

  constructor(private readonly options: PingOneClientOptions) {
    this.environmentId = options.environmentId;
  }

  async getUser(userId: Uuid, scope: CallScope): Promise<Reply<UserRecord>> {
    return sameUser(userId, await this.call('GET', this.path('users', userId), undefined, UserRecordSchema, scope));
  }

  async findUsers(filter: string, limit: number, scope: CallScope): Promise<Reply<UserRecord[]>> {
    const query = new URLSearchParams({ filter, limit: String(limit) });
    const reply = await this.call('GET', `${this.path('users')}?${query}`, undefined, UserRecordPageSchema, scope);
    return { ...reply, data: reply.data._embedded?.users ?? [] };
  }

  async listDevices(userId: Uuid, scope: CallScope): Promise<Reply<DeviceRecord[]>> {
    const reply = await this.call('GET', this.path('users', userId, 'devices'), undefined, DeviceRecordPageSchema, scope);
    return { ...reply, data: reply.data._embedded?.devices ?? [] };
  }

  async getDevice(userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<DeviceRecord>> {
    return sameDevice(deviceId, await this.call('GET', this.path('users', userId, 'devices', deviceId), undefined, DeviceRecordSchema, scope));
  }

  async unlockUser(userId: Uuid, scope: CallScope): Promise<Reply<UserRecord>> {
    return sameUser(userId, await this.call('POST', this.path('users', userId), ActionContentType.unlockUser, UserRecordSchema, scope));
  }

  async unblockDevice(userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<DeviceRecord>> {
    const path = this.path('users', userId, 'devices', deviceId);
    return sameDevice(deviceId, await this.call('POST', path, ActionContentType.unblockDevice, DeviceRecordSchema, scope));
  }

  async unlockDevice(userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<DeviceRecord>> {
    const path = this.path('users', userId, 'devices', deviceId);
    return sameDevice(deviceId, await this.call('POST', path, ActionContentType.unlockDevice, DeviceRecordSchema, scope));
  }

  /** Builds a path under this environment; segments are literals or checked UUIDs. */
  private path(...segments: Array<'users' | 'devices' | Uuid>): string {
    return `${this.options.apiUrl}/environments/${this.environmentId}/${segments.map(encodeURIComponent).join('/')}`;
  }

  private async call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    url: string,
    actionType: ActionContentType | undefined,
    schema: S,
    scope: CallScope,
  ): Promise<Reply<z.infer<S>>> {
    const answer = await this.authorized(method, url, actionType, scope);
    const context = { attempts: answer.attempts, correlationId: answer.correlationId };
    if (answer.status < 200 || answer.status > 299) throw apiError(answer);
    const parsed = schema.safeParse(answer.json);
    if (!parsed.success) {
      const issue = parsed.error.issues.find((i) => i.code === 'custom')?.message;
      throw new PingOneResponseError(answer.status, answer.problem ?? issue ?? 'the body does not have the expected shape', context);
    }
    return { data: parsed.data, status: answer.status, correlationId: answer.correlationId };
  }

  /** Sends with a bearer token; a 401 means the token went stale: refresh once and retry once. */
  private async authorized(
    method: 'GET' | 'POST',
    url: string,
    actionType: ActionContentType | undefined,
    scope: CallScope,
  ): Promise<HttpAnswer> {
    const send = async () => {
      const token = await this.options.tokens.get(scope);
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (actionType) headers['content-type'] = actionType;
      return { token, answer: await this.options.http.perform({ method, url, headers }, scope) };
    };
    const first = await send();
    if (first.answer.status !== 401) return first.answer;
    this.options.tokens.invalidate(first.token);
    const second = await send();
    return { ...second.answer, attempts: first.answer.attempts + second.answer.attempts };
  }
}

/** An answer about another user than the one asked for is not an answer to our request. */
function sameUser(asked: Uuid, reply: Reply<UserRecord>): Reply<UserRecord> {
  if (reply.data.identity.id !== asked) throw mismatch(reply, 'a different user than the one asked for');
  return reply;
}

function sameDevice(asked: Uuid, reply: Reply<DeviceRecord>): Reply<DeviceRecord> {
  if (reply.data.id !== asked) throw mismatch(reply, 'a different device than the one asked for');
  return reply;
}

function mismatch(reply: Reply<unknown>, problem: string): PingOneResponseError {
  return new PingOneResponseError(reply.status, problem, { attempts: 1, correlationId: reply.correlationId });
}

/** P1Error fields that could echo the request are kept only in PingOne's own shapes (`echoes.ts`). */
function apiError(answer: HttpAnswer): PingOneApiError {
  const body = P1ErrorSchema.safeParse(answer.json).data;
  return new PingOneApiError(
    {
      status: answer.status,
      errorCode: errorCodeOrUndefined(body?.code),
      errorId: uuidLikeOrUndefined(body?.id),
      detailCode: errorCodeOrUndefined(body?.details?.[0]?.code),
      retryAfterMs: answer.retryAfterMs,
    },
    { attempts: answer.attempts, correlationId: answer.correlationId },
  );
}
