import { isPingOneFailure, type PingOneFailure } from '../pingone/errors.js';
import type { AuditPingOne } from '../audit/record.js';
import type { ErrorSummary } from './output.js';

/**
 * Turns a PingOne failure into the sentence the model acts on and the summary
 * it can parse. `wrote` says whether the write may have reached PingOne, which
 * decides whether "nothing was changed" is true.
 */
export function explainFailure(error: PingOneFailure, environmentId: string, wrote: boolean): { text: string; error: ErrorSummary } {
  const tries = error.attempts > 1 ? ` after ${error.attempts} attempts` : '';
  const unchanged = wrote ? ' The change may or may not have been applied; calling the tool again is safe and shows the current state.' : ' Nothing was changed.';
  // Each kind names its own code: there is no placeholder to forget to overwrite.
  const base = (code: string, extra: Partial<ErrorSummary> = {}): ErrorSummary => ({ code, responsible: error.responsible, attempts: error.attempts, ...extra });
  switch (error.kind) {
    case 'api': {
      const ref = [error.errorCode, error.detailCode].filter(Boolean).join('/');
      const id = error.errorId ? `, PingOne error id ${error.errorId}` : '';
      const said = `PingOne answered ${error.status}${ref ? ` ${ref}` : ''}${id}${tries}.`;
      const retryAfterSeconds = error.status === 429 && error.retryAfterMs !== undefined ? Math.ceil(error.retryAfterMs / 1000) : undefined;
      const summary = base(`PINGONE_${error.status}`, {
        httpStatus: error.status,
        ...(error.errorCode ? { pingoneErrorCode: error.errorCode } : {}),
        ...(error.errorId ? { pingoneErrorId: error.errorId } : {}),
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      });
      if (error.status === 401) {
        return { error: summary, text: `${said} PingOne rejected the worker app's access token even after a fresh one: check that the worker app is enabled and that PINGONE_ENVIRONMENT_ID and PINGONE_REGION_CODE match it.${unchanged}` };
      }
      if (error.status === 403) {
        return { error: summary, text: `${said} The worker app lacks a role that allows this on environment ${environmentId} (such as Identity Data Admin), or the environment does not exist: a PingOne administrator must assign the role.${unchanged}` };
      }
      if (error.status === 404) {
        return { error: summary, text: `${said} It was not found in environment ${environmentId}.${unchanged}` };
      }
      if (error.status === 429) {
        const wait = retryAfterSeconds === undefined ? 'a few seconds' : `${retryAfterSeconds} s`;
        return { error: summary, text: `${said} PingOne's rate limit was reached: wait ${wait} and try again.${unchanged}` };
      }
      if (error.status >= 500) {
        return { error: summary, text: `${said} PingOne had a server-side problem: try again in a minute; if it persists, give PingOne support the error id.${unchanged}` };
      }
      return { error: summary, text: `${said} PingOne did not accept the request.${unchanged}` };
    }
    case 'auth':
      return { error: base('PINGONE_AUTH', { httpStatus: error.status, ...(error.oauthError ? { pingoneErrorCode: error.oauthError } : {}) }), text: `PingOne's token endpoint refused the worker app's credentials (${error.oauthError ?? `HTTP ${error.status}`}): an administrator must check PINGONE_CLIENT_ID, PINGONE_CLIENT_SECRET, PINGONE_TOKEN_AUTH_METHOD, PINGONE_AUTH_ENVIRONMENT_ID and PINGONE_REGION_CODE / PINGONE_AUTH_URL.${unchanged}` };
    case 'unreachable':
      return { error: base('PINGONE_UNREACHABLE'), text: `PingOne could not be reached (${error.networkCode})${tries}: check the network and PINGONE_REGION_CODE (or PINGONE_API_URL / PINGONE_AUTH_URL), then try again.${unchanged}` };
    case 'timeout':
      return { error: base('PINGONE_TIMEOUT'), text: `PingOne did not answer within ${Math.round(error.deadlineMs / 1000)} s${tries}: try again in a minute.${unchanged}` };
    case 'cancelled':
      return { error: base('CANCELLED'), text: `The call was cancelled before PingOne answered.${unchanged}` };
    case 'response':
      return { error: base('PINGONE_BAD_RESPONSE', { httpStatus: error.status }), text: `${error.message}${tries}: try again in a minute.${unchanged}` };
  }
}

/** The PingOne part of an audit record for a failed request. */
export function auditFailure(error: unknown): AuditPingOne | undefined {
  if (!isPingOneFailure(error)) return undefined;
  const status = error.kind === 'api' || error.kind === 'auth' || error.kind === 'response' ? error.status : undefined;
  const errorCode = error.kind === 'api' ? error.errorCode : error.kind === 'auth' ? error.oauthError : error.kind.toUpperCase();
  return {
    ...(status === undefined ? {} : { status }),
    ...(error.correlationId ? { correlationId: error.correlationId } : {}),
    ...(errorCode ? { errorCode } : {}),
    ...(error.kind === 'api' && error.errorId ? { errorId: error.errorId } : {}),
  };
}
