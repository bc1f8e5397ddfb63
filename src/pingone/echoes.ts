/**
 * Error fields that a misbehaving gateway could fill with parts of our own
 * request (the Authorization header, the client secret). Each is kept only when
 * it has the shape PingOne gives it; anything else is dropped, never echoed.
 */

const ERROR_CODE = /^[A-Z0-9_]{1,64}$/;
const UUID_LIKE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Within RFC 6749's error character set, narrowed to the registered codes' shape (invalid_client, …). */
const OAUTH_ERROR = /^[a-z][a-z0-9_]{0,63}$/;

/** P1Error `code` and `details[].code`: NOT_FOUND, INSUFFICIENT_PERMISSIONS, … */
export function errorCodeOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && ERROR_CODE.test(value) ? value : undefined;
}

/** P1Error `id` and the `Correlation-Id` header: UUIDs. */
export function uuidLikeOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && UUID_LIKE.test(value) ? value : undefined;
}

/** OAuth `error` of the token endpoint. */
export function oauthErrorOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && OAUTH_ERROR.test(value) ? value : undefined;
}

/** A response's content type, named in a message: `application/json`, never more. */
export function mediaTypeOrUndefined(value: string): string | undefined {
  const type = value.split(';')[0]?.trim() ?? '';
  return /^[\w.+-]{1,64}\/[\w.+-]{1,64}$/.test(type) ? type : undefined;
}
