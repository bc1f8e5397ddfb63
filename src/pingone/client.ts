import type * as z from 'zod';
import type { Uuid } from '../ids.js';
import { PingOneApiError, PingOneResponseError, isPingOneFailure, type PingOneFailure } from './errors.js';
import type { CallScope, HttpAnswer, HttpExchange } from './http.js';
import { errorCodeOrUndefined, uuidLikeOrUndefined } from './echoes.js';
import { ActionContentType, P1ErrorSchema, PasswordStateSchema, type PasswordState } from './model.js';
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
 * Users and devices come back as records (`records.ts`): display text made
 * safe, identity kept raw, IDs checked; an answer about another user or device
 * than the one asked for is refused as unusable.
 */
export interface PingOneApi {
  readonly environmentId: Uuid;
  getUser(userId: Uuid, scope: CallScope): Promise<Reply<UserRecord>>;
  /** Users matching a SCIM filter; the filter must come from `filter.ts`, never from raw agent text. */
  findUsers(filter: string, limit: number, scope: CallScope): Promise<Reply<UserRecord[]>>;
  listDevices(userId: Uuid, scope: CallScope): Promise<Reply<DeviceRecord[]>>;
  getDevice(userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<DeviceRecord>>;
  /** The user's password state; what PingOne cannot tell (refused, unreadable, unavailable) is a value, not an error. Throws only when the call is cancelled. */
  getPasswordState(userId: Uuid, scope: CallScope): Promise<PasswordStateRead>;
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

/**
 * The writes, by kind: content type, the resource a 2xx body may carry, and the
 * URL suffix after the user (device writes go to the device URL instead).
 */
const WRITES = {
  unlockUser: { contentType: ActionContentType.unlockUser, schema: UserRecordSchema, suffix: '' },
  unlockPassword: { contentType: ActionContentType.unlockPassword, schema: PasswordStateSchema, suffix: '/password' },
  unblockDevice: { contentType: ActionContentType.unblockDevice, schema: DeviceRecordSchema, suffix: '' },
  unlockDevice: { contentType: ActionContentType.unlockDevice, schema: DeviceRecordSchema, suffix: '' },
} as const;
type WriteSpec = (typeof WRITES)[WriteKind];

export type WriteKind = keyof typeof WRITES;
/** What a successful write of this kind may answer with. */
export type WrittenResource<K extends WriteKind> = z.output<(typeof WRITES)[K]['schema']>;

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
