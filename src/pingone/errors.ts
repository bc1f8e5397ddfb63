/**
 * What can go wrong when talking to PingOne, as a closed union of classes.
 * Each failure says who must act: the agent (bad input, wrong target), the
 * admin (credentials, roles, configuration) or PingOne (outage, rate limit).
 * Messages never carry a secret, a token or a response body verbatim.
 */
import type { Responsible } from '../responsible.js';

export type { Responsible };

/** Where in a tool call the failure happened, for the recovery hint. */
export interface FailureContext {
  /** HTTP attempts made for the request that failed (retries included). */
  attempts: number;
  correlationId?: string | undefined;
}

abstract class PingOneFailureBase extends Error {
  abstract readonly kind: string;
  abstract readonly responsible: Responsible;
  readonly attempts: number;
  readonly correlationId: string | undefined;

  constructor(message: string, context: FailureContext) {
    super(message);
    this.name = new.target.name;
    this.attempts = context.attempts;
    this.correlationId = context.correlationId;
  }
}

/** PingOne answered with an HTTP error and (usually) a P1Error body. */
export class PingOneApiError extends PingOneFailureBase {
  readonly kind = 'api';
  readonly status: number;
  /** P1Error `code`, e.g. NOT_FOUND, ACCESS_FAILED, REQUEST_LIMITED. */
  readonly errorCode: string | undefined;
  /** P1Error `id`: what PingOne support asks for. */
  readonly errorId: string | undefined;
  /** First detail code, e.g. INSUFFICIENT_PERMISSIONS, INVALID_FILTER. */
  readonly detailCode: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    init: {
      status: number;
      errorCode?: string | undefined;
      errorId?: string | undefined;
      detailCode?: string | undefined;
      retryAfterMs?: number | undefined;
    },
    context: FailureContext,
  ) {
    super(`PingOne answered HTTP ${init.status}${init.errorCode ? ` ${init.errorCode}` : ''}`, context);
    this.status = init.status;
    this.errorCode = init.errorCode;
    this.errorId = init.errorId;
    this.detailCode = init.detailCode;
    this.retryAfterMs = init.retryAfterMs;
  }

  get responsible(): Responsible {
    if (this.status === 401 || this.status === 403) return 'admin';
    if (this.status === 400 || this.status === 404) return 'agent';
    return 'pingone';
  }
}

/** The token endpoint refused the worker app's credentials (OAuth error body). */
export class PingOneAuthError extends PingOneFailureBase {
  readonly kind = 'auth';
  readonly responsible = 'admin' as const;
  readonly status: number;
  /** OAuth `error`, e.g. invalid_client, unauthorized_client. */
  readonly oauthError: string | undefined;

  constructor(status: number, oauthError: string | undefined, context: FailureContext) {
    super(`PingOne's token endpoint refused the worker app (HTTP ${status}${oauthError ? ` ${oauthError}` : ''})`, context);
    this.status = status;
    this.oauthError = oauthError;
  }
}

/** No HTTP answer at all: connection refused or reset, DNS failure. */
export class PingOneUnreachableError extends PingOneFailureBase {
  readonly kind = 'unreachable';
  readonly responsible = 'pingone' as const;
  /** The network error code (ECONNRESET, ECONNREFUSED, ENOTFOUND, …). */
  readonly networkCode: string;

  constructor(networkCode: string, context: FailureContext) {
    super(`PingOne could not be reached (${networkCode})`, context);
    this.networkCode = networkCode;
  }
}

/** The tool call's deadline passed before PingOne answered. */
export class PingOneTimeoutError extends PingOneFailureBase {
  readonly kind = 'timeout';
  readonly responsible = 'pingone' as const;
  readonly deadlineMs: number;

  constructor(deadlineMs: number, context: FailureContext) {
    super(`PingOne did not answer within ${Math.round(deadlineMs / 1000)} s`, context);
    this.deadlineMs = deadlineMs;
  }
}

/** The MCP client cancelled the tool call. */
export class PingOneCancelledError extends PingOneFailureBase {
  readonly kind = 'cancelled';
  readonly responsible = 'agent' as const;

  constructor(context: FailureContext) {
    super('the request to PingOne was cancelled by the client', context);
  }
}

/** PingOne answered 2xx (or an error) with a body we cannot use: HTML, truncated, wrong shape, too large. */
export class PingOneResponseError extends PingOneFailureBase {
  readonly kind = 'response';
  readonly responsible = 'pingone' as const;
  readonly status: number;

  constructor(status: number, problem: string, context: FailureContext) {
    super(`PingOne's answer (HTTP ${status}) could not be used: ${problem}`, context);
    this.status = status;
  }
}

export type PingOneFailure =
  | PingOneApiError
  | PingOneAuthError
  | PingOneUnreachableError
  | PingOneTimeoutError
  | PingOneCancelledError
  | PingOneResponseError;

export function isPingOneFailure(error: unknown): error is PingOneFailure {
  return error instanceof PingOneFailureBase;
}
