import { p1Error, type OAuthErrorBody, type P1ErrorBody, type P1ErrorDetail } from './p1error.js';

/**
 * A response computed but not yet written. Handlers return Replies rather than
 * writing to the socket so that faults such as `truncated` can mangle the
 * genuine answer. Header names are lower-case so merging never duplicates one.
 */
export type Reply = { status: number; headers: Record<string, string>; body: string };

export const JSON_TYPE = 'application/json';
/** PingOne serves resources and collections as HAL. */
export const HAL_TYPE = 'application/hal+json;charset=UTF-8';

export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': JSON_TYPE, ...lowerCaseKeys(headers) }, body: JSON.stringify(body) };
}

export function halReply(body: unknown): Reply {
  return { status: 200, headers: { 'content-type': HAL_TYPE }, body: JSON.stringify(body) };
}

export function errorReply(status: number, error: P1ErrorBody | OAuthErrorBody, headers: Record<string, string> = {}): Reply {
  return jsonReply(status, error, headers);
}

export function p1Reply(status: number, code: string, message: string, details?: P1ErrorDetail[]): Reply {
  return jsonReply(status, p1Error(code, message, details));
}

export function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
