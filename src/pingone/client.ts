import type { z } from 'zod';
import type { Uuid } from '../ids.js';
import { PingOneApiError, PingOneResponseError, isPingOneFailure, type PingOneFailure } from './errors.js';
import type { CallScope, HttpAnswer, HttpExchange } from './http.js';
import {
  ActionContentType,
  DevicePageSchema,
  DeviceSchema,
  P1ErrorSchema,
  PasswordStateSchema,
  UserPageSchema,
  UserSchema,
  type Device,
  type PasswordState,
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
  /** The user's password state; what PingOne cannot tell (refused, unreadable, unavailable) is a value, not an error. Throws only when the call is cancelled. */
  getPasswordState(userId: Uuid, scope: CallScope): Promise<PasswordStateRead>;
  /** Password Unlock: `write({ kind: 'unlockPassword', userId })`. */
  unlockPassword(userId: Uuid, scope: CallScope): Promise<WriteAnswer<PasswordState>>;
  /** One write. Any 2xx is success whatever its body; the answer says whether the body was the resource. */
  write<K extends WriteKind>(action: WriteAction<K>, scope: CallScope): Promise<WriteAnswer<WrittenResource<K>>>;
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

  async getPasswordState(userId: Uuid, scope: CallScope): Promise<PasswordStateRead> {
    try {
      const reply = await this.call('GET', `${this.path('users', userId)}/password`, undefined, PasswordStateSchema, scope);
      return { known: true, state: reply.data, status: reply.status, correlationId: reply.correlationId };
    } catch (error) {
      if (!isPingOneFailure(error)) throw error;
      const why = whyPasswordUnknown(error);
      if (why === undefined) throw error;
      return { known: false, why, failure: error };
    }
  }

  unlockPassword(userId: Uuid, scope: CallScope): Promise<WriteAnswer<PasswordState>> {
    return this.write({ kind: 'unlockPassword', userId }, scope);
  }

  async write<K extends WriteKind>(action: WriteAction<K>, scope: CallScope): Promise<WriteAnswer<WrittenResource<K>>> {
    const spec: WriteSpec = WRITES[action.kind];
    const url = 'deviceId' in action ? this.path('users', action.userId, 'devices', action.deviceId) : `${this.path('users', action.userId)}${spec.suffix}`;
    const answer = await this.authorized('POST', url, spec.contentType, scope);
    if (answer.status < 200 || answer.status > 299) throw apiError(answer);
    const base = { status: answer.status, correlationId: answer.correlationId };
    if (answer.json === undefined && answer.problem === undefined) return { ...base, body: 'none' };
    const parsed = spec.schema.safeParse(answer.json);
    // The schema is the one WRITES names for this kind, so the parsed value is that kind's resource.
    if (parsed.success) return { ...base, body: 'resource', data: parsed.data as WrittenResource<K> };
    return { ...base, body: 'unexpected', problem: answer.problem ?? 'the body does not have the expected shape' };
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

/**
 * The writes, by kind: content type, the resource a 2xx body may carry, and the
 * URL suffix after the user (device writes go to the device URL instead).
 */
const WRITES = {
  unlockUser: { contentType: ActionContentType.unlockUser, schema: UserSchema, suffix: '' },
  unlockPassword: { contentType: ActionContentType.unlockPassword, schema: PasswordStateSchema, suffix: '/password' },
  unblockDevice: { contentType: ActionContentType.unblockDevice, schema: DeviceSchema, suffix: '' },
  unlockDevice: { contentType: ActionContentType.unlockDevice, schema: DeviceSchema, suffix: '' },
} as const;
type WriteSpec = (typeof WRITES)[WriteKind];

export type WriteKind = keyof typeof WRITES;
/** What a successful write of this kind may answer with. */
export type WrittenResource<K extends WriteKind> = z.infer<(typeof WRITES)[K]['schema']>;

type WriteTargets = {
  unlockUser: { userId: Uuid };
  unlockPassword: { userId: Uuid };
  unblockDevice: { userId: Uuid; deviceId: Uuid };
  unlockDevice: { userId: Uuid; deviceId: Uuid };
};
/** One write to send: its kind and what it names. */
export type WriteAction<K extends WriteKind = WriteKind> = { [P in K]: { kind: P } & WriteTargets[P] }[K];

/**
 * A 2xx answer to a write. PingOne's definitions type none of these answers, so
 * the body is reported, never trusted: `resource` when it is the object,
 * `none` when it is empty (e.g. 204), `unexpected` otherwise. For the last two
 * the caller reads the state back.
 */
export type WriteAnswer<T> = { status: number; correlationId: string | undefined } & (
  | { body: 'resource'; data: T }
  | { body: 'none' }
  | { body: 'unexpected'; problem: string }
);

/**
 * A password-state read. `known: false` says why the state is unknown:
 * `refused` (PingOne said no: 403, 404, the credentials), `unreadable` (a 2xx
 * whose body is not a documented state), `unavailable` (a timeout, the network,
 * 429 or 5xx after the retries). `failure` carries status and correlation id for
 * the audit.
 */
export type PasswordStateRead =
  | { known: true; state: PasswordState; status: number; correlationId: string | undefined }
  | { known: false; why: 'refused' | 'unreadable' | 'unavailable'; failure: PingOneFailure };

function whyPasswordUnknown(failure: PingOneFailure): 'refused' | 'unreadable' | 'unavailable' | undefined {
  switch (failure.kind) {
    case 'cancelled':
      return undefined;
    case 'response':
      return 'unreadable';
    case 'auth':
      return 'refused';
    case 'timeout':
    case 'unreachable':
      return 'unavailable';
    case 'api':
      return failure.status === 429 || failure.status >= 500 ? 'unavailable' : 'refused';
  }
}
