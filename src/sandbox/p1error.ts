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
