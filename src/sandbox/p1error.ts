import { randomUUID } from 'node:crypto';

/**
 * Error bodies in the two shapes PingOne uses: P1Error for the Management API
 * and OAuth-style JSON for the token endpoint. Each P1Error gets a fresh `id`,
 * because that is what PingOne support asks for and clients should surface it.
 */

export type P1ErrorDetail = { code: string; target?: string; message: string };

export type P1ErrorBody = { id: string; code: string; message: string; details?: P1ErrorDetail[] };

export type OAuthErrorBody = { error: string; error_description: string };

export function p1Error(code: string, message: string, details?: P1ErrorDetail[]): P1ErrorBody {
  const body: P1ErrorBody = { id: randomUUID(), code, message };
  if (details !== undefined && details.length > 0) body.details = details;
  return body;
}

export function oauthError(error: string, description: string): OAuthErrorBody {
  return { error, error_description: description };
}

/** The P1Error PingOne would plausibly send for a bare status (used by status faults). */
export function p1ErrorForStatus(status: number): P1ErrorBody {
  switch (status) {
    case 400:
      return p1Error('INVALID_DATA', 'The request could not be completed. One or more validation errors were in the request.', [
        { code: 'INVALID_VALUE', message: 'A value in the request is invalid.' },
      ]);
    case 401:
      return p1Error('ACCESS_FAILED', 'The request could not be completed. The access token is invalid or has expired.', [
        { code: 'INVALID_TOKEN', message: 'The access token is invalid or has expired.' },
      ]);
    case 403:
      return p1Error('ACCESS_FAILED', 'The request could not be completed. You do not have access to this resource.', [
        { code: 'INSUFFICIENT_PERMISSIONS', message: 'The actor does not have the permissions required for this request.' },
      ]);
    case 404:
      return p1Error('NOT_FOUND', 'The requested resource was not found.');
    case 415:
      return p1Error('INVALID_REQUEST', 'The request could not be completed. The Content-Type is not supported.');
    case 429:
      return p1Error('REQUEST_LIMITED', 'The request could not be completed. Too many requests were made.', [
        { code: 'LIMIT_EXCEEDED', message: 'The request rate limit was exceeded. Retry after the interval in Retry-After.' },
      ]);
    default:
      if (status >= 500) return p1Error('UNEXPECTED_ERROR', 'An unexpected error occurred.');
      return p1Error('REQUEST_FAILED', 'The request could not be completed.');
  }
}

/** The OAuth error the token endpoint would plausibly send for a bare status. */
export function oauthErrorForStatus(status: number): OAuthErrorBody {
  if (status === 401) return oauthError('invalid_client', 'Client authentication failed.');
  if (status === 400) return oauthError('invalid_request', 'The request is invalid.');
  if (status >= 500) return oauthError('server_error', 'An unexpected error occurred.');
  return oauthError('invalid_request', 'The request could not be completed.');
}
