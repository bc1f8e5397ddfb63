import type { z } from 'zod';
import type { Uuid } from '../ids.js';
import { PingOneApiError, PingOneResponseError } from './errors.js';
import type { CallScope, HttpAnswer, HttpExchange } from './http.js';
import {
  ActionContentType,
  DevicePageSchema,
  DeviceSchema,
  P1ErrorSchema,
  UserPageSchema,
  UserSchema,
  type Device,
  type User,
} from './model.js';
import type { TokenSource } from './token.js';

/** A successful PingOne answer and what our audit trail needs from it. */
export interface Reply<T> {
  data: T;
  status: number;
  correlationId: string | undefined;
}

/** The PingOne operations the tools use. Tools depend on this, not on HTTP. */
export interface PingOneApi {
  readonly environmentId: Uuid;
  getUser(userId: Uuid, scope: CallScope): Promise<Reply<User>>;
  /** Users matching a SCIM filter; the filter must come from `filter.ts`, never from raw agent text. */
  findUsers(filter: string, limit: number, scope: CallScope): Promise<Reply<User[]>>;
  listDevices(userId: Uuid, scope: CallScope): Promise<Reply<Device[]>>;
  getDevice(userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<Device>>;
  unlockUser(userId: Uuid, scope: CallScope): Promise<Reply<User>>;
  unblockDevice(userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<Device>>;
  unlockDevice(userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<Device>>;
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

  getUser(userId: Uuid, scope: CallScope): Promise<Reply<User>> {
    return this.call('GET', this.path('users', userId), undefined, UserSchema, scope);
  }

  async findUsers(filter: string, limit: number, scope: CallScope): Promise<Reply<User[]>> {
    const query = new URLSearchParams({ filter, limit: String(limit) });
    const reply = await this.call('GET', `${this.path('users')}?${query}`, undefined, UserPageSchema, scope);
    return { ...reply, data: reply.data._embedded?.users ?? [] };
  }

  async listDevices(userId: Uuid, scope: CallScope): Promise<Reply<Device[]>> {
    const reply = await this.call('GET', this.path('users', userId, 'devices'), undefined, DevicePageSchema, scope);
    return { ...reply, data: reply.data._embedded?.devices ?? [] };
  }

  getDevice(userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<Device>> {
    return this.call('GET', this.path('users', userId, 'devices', deviceId), undefined, DeviceSchema, scope);
  }

  unlockUser(userId: Uuid, scope: CallScope): Promise<Reply<User>> {
    return this.call('POST', this.path('users', userId), ActionContentType.unlockUser, UserSchema, scope);
  }

  unblockDevice(userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<Device>> {
    const path = this.path('users', userId, 'devices', deviceId);
    return this.call('POST', path, ActionContentType.unblockDevice, DeviceSchema, scope);
  }

  unlockDevice(userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<Device>> {
    const path = this.path('users', userId, 'devices', deviceId);
    return this.call('POST', path, ActionContentType.unlockDevice, DeviceSchema, scope);
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
      throw new PingOneResponseError(answer.status, answer.problem ?? 'the body does not have the expected shape', context);
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

function apiError(answer: HttpAnswer): PingOneApiError {
  const body = P1ErrorSchema.safeParse(answer.json).data;
  return new PingOneApiError(
    {
      status: answer.status,
      errorCode: body?.code,
      errorId: body?.id,
      detailCode: body?.details?.[0]?.code,
      pingoneMessage: body?.message,
      retryAfterMs: answer.retryAfterMs,
    },
    { attempts: answer.attempts, correlationId: answer.correlationId },
  );
}
