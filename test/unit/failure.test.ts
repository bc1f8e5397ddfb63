import { describe, expect, it } from 'vitest';
import {
  PingOneApiError,
  PingOneAuthError,
  PingOneCancelledError,
  PingOneResponseError,
  PingOneTimeoutError,
  PingOneUnreachableError,
} from '../../src/pingone/errors.js';
import { auditFailure, explainFailure } from '../../src/tools/failure.js';

const ENV = '5e1f0c2a-9d3b-4c7e-8f60-1a2b3c4d5e6f';
const NOTHING_CHANGED = 'Nothing was changed.';
const MAYBE_APPLIED = 'may or may not have been applied';

function api(status: number, extra: Partial<ConstructorParameters<typeof PingOneApiError>[0]> = {}, attempts = 1) {
  return new PingOneApiError({ status, ...extra }, { attempts, correlationId: 'corr-1' });
}

describe('explainFailure', () => {
  it('403: names Identity Data Admin and the environment, and says an administrator must act', () => {
    const { text, error } = explainFailure(api(403, { errorCode: 'ACCESS_FAILED', detailCode: 'INSUFFICIENT_PERMISSIONS', errorId: 'id-403' }), ENV, false);
    expect(text).toContain('Identity Data Admin');
    expect(text).toContain(ENV);
    expect(text).toContain('ACCESS_FAILED/INSUFFICIENT_PERMISSIONS');
    expect(text).toContain(NOTHING_CHANGED);
    expect(error).toMatchObject({ code: 'PINGONE_403', responsible: 'admin', httpStatus: 403, pingoneErrorCode: 'ACCESS_FAILED', pingoneErrorId: 'id-403' });
  });

  it('404: names the environment the thing was not found in', () => {
    const { text, error } = explainFailure(api(404, { errorCode: 'NOT_FOUND' }), ENV, false);
    expect(text).toContain(`not found in environment ${ENV}`);
    expect(error.responsible).toBe('agent');
    expect(error.code).toBe('PINGONE_404');
  });

  it('429: says how long to wait (rounded up) and how many attempts were made', () => {
    const { text, error } = explainFailure(api(429, { errorCode: 'REQUEST_LIMITED', retryAfterMs: 3_500 }, 3), ENV, false);
    expect(text).toContain('wait 4 s');
    expect(text).toContain('after 3 attempts');
    expect(text).toContain('rate limit');
    expect(error.retryAfterSeconds).toBe(4);
    expect(error.attempts).toBe(3);
  });

  it('429 without Retry-After: a generic wait and no retryAfterSeconds', () => {
    const { text, error } = explainFailure(api(429), ENV, false);
    expect(text).toContain('wait a few seconds');
    expect(error.retryAfterSeconds).toBeUndefined();
    expect(text).not.toContain('after 1 attempts');
  });

  it('5xx: includes PingOne’s error id for support', () => {
    const { text, error } = explainFailure(api(500, { errorCode: 'UNEXPECTED_ERROR', errorId: 'f00d-cafe-1234' }, 3), ENV, false);
    expect(text).toContain('PingOne error id f00d-cafe-1234');
    expect(text).toContain('PingOne support');
    expect(error.pingoneErrorId).toBe('f00d-cafe-1234');
    expect(error.responsible).toBe('pingone');
  });

  it('401 after a fresh token: points at the worker app and environment settings', () => {
    const { text } = explainFailure(api(401, { errorCode: 'ACCESS_FAILED' }, 2), ENV, false);
    expect(text).toContain('PINGONE_ENVIRONMENT_ID');
    expect(text).toContain('after 2 attempts');
  });

  it('auth: names PINGONE_CLIENT_ID and PINGONE_CLIENT_SECRET and the OAuth error', () => {
    const { text, error } = explainFailure(new PingOneAuthError(401, 'invalid_client', { attempts: 1 }), ENV, false);
    expect(text).toContain('PINGONE_CLIENT_ID');
    expect(text).toContain('PINGONE_CLIENT_SECRET');
    expect(text).toContain('invalid_client');
    expect(error).toMatchObject({ code: 'PINGONE_AUTH', responsible: 'admin', httpStatus: 401, pingoneErrorCode: 'invalid_client' });
  });

  it('wrote=true: the change may or may not have been applied; wrote=false: nothing was changed', () => {
    const failures = [
      api(503, {}, 3),
      new PingOneUnreachableError('ECONNRESET', { attempts: 3 }),
      new PingOneTimeoutError(30_000, { attempts: 1 }),
      new PingOneCancelledError({ attempts: 1 }),
      new PingOneResponseError(200, 'the JSON body is malformed or cut short', { attempts: 1 }),
    ];
    for (const failure of failures) {
      const wrote = explainFailure(failure, ENV, true).text;
      expect(wrote).toContain(MAYBE_APPLIED);
      expect(wrote).not.toContain(NOTHING_CHANGED);
      const notWrote = explainFailure(failure, ENV, false).text;
      expect(notWrote).toContain(NOTHING_CHANGED);
      expect(notWrote).not.toContain(MAYBE_APPLIED);
    }
  });

  it('unreachable, timeout, cancelled and response each get their own code and hint', () => {
    const unreachable = explainFailure(new PingOneUnreachableError('ECONNREFUSED', { attempts: 3 }), ENV, false);
    expect(unreachable.error.code).toBe('PINGONE_UNREACHABLE');
    expect(unreachable.text).toContain('ECONNREFUSED');
    expect(unreachable.text).toContain('PINGONE_API_URL');
    const timeout = explainFailure(new PingOneTimeoutError(30_000, { attempts: 1 }), ENV, false);
    expect(timeout.error.code).toBe('PINGONE_TIMEOUT');
    expect(timeout.text).toContain('within 30 s');
    expect(explainFailure(new PingOneCancelledError({ attempts: 1 }), ENV, false).error.code).toBe('CANCELLED');
    const response = explainFailure(new PingOneResponseError(200, 'expected JSON, got text/html', { attempts: 2 }), ENV, false);
    expect(response.error).toMatchObject({ code: 'PINGONE_BAD_RESPONSE', httpStatus: 200 });
    expect(response.text).toContain('text/html');
  });
});

describe('auditFailure', () => {
  it('extracts status, Correlation-Id, error code and error id from an API error', () => {
    expect(auditFailure(api(403, { errorCode: 'ACCESS_FAILED', errorId: 'id-1', detailCode: 'X' }))).toEqual({
      status: 403,
      correlationId: 'corr-1',
      errorCode: 'ACCESS_FAILED',
      errorId: 'id-1',
    });
  });

  it('uses the OAuth error for auth failures and the kind for failures without an answer', () => {
    expect(auditFailure(new PingOneAuthError(401, 'invalid_client', { attempts: 1, correlationId: 'c' }))).toEqual({
      status: 401,
      correlationId: 'c',
      errorCode: 'invalid_client',
    });
    expect(auditFailure(new PingOneUnreachableError('ECONNRESET', { attempts: 3 }))).toEqual({ errorCode: 'UNREACHABLE' });
    expect(auditFailure(new PingOneTimeoutError(1_000, { attempts: 1 }))).toEqual({ errorCode: 'TIMEOUT' });
    expect(auditFailure(new PingOneResponseError(200, 'x', { attempts: 1, correlationId: 'c2' }))).toEqual({ status: 200, correlationId: 'c2', errorCode: 'RESPONSE' });
  });

  it('omits what is unknown and ignores errors that are not PingOne failures', () => {
    expect(auditFailure(new PingOneApiError({ status: 502 }, { attempts: 3 }))).toEqual({ status: 502 });
    expect(auditFailure(new Error('boom'))).toBeUndefined();
    expect(auditFailure('text')).toBeUndefined();
  });
});
