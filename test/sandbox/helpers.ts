import { connect } from 'node:net';
import { request } from 'undici';
import type { Emulator } from '../../src/sandbox/emulator.js';

/** A response read in full, headers flattened to single strings. */
export type Received = { status: number; headers: Record<string, string>; text: string; json: unknown };

export type SendOptions = {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  headers?: Record<string, string>;
  body?: string;
  headersTimeout?: number;
  bodyTimeout?: number;
};

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export async function send(url: string, options: SendOptions = {}): Promise<Received> {
  const response = await request(url, {
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.headersTimeout !== undefined ? { headersTimeout: options.headersTimeout } : {}),
    ...(options.bodyTimeout !== undefined ? { bodyTimeout: options.bodyTimeout } : {}),
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: flatten(response.headers), text, json };
}

export function tokenUrl(emulator: Emulator): string {
  return `${emulator.authUrl}/${emulator.environmentId}/as/token`;
}

export function basicAuth(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

const FORM = 'application/x-www-form-urlencoded';

/** Fetches a token with the emulator's configured client authentication. */
export async function getToken(emulator: Emulator): Promise<string> {
  const basic = emulator.tokenAuthMethod === 'client_secret_basic';
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (!basic) {
    form.set('client_id', emulator.clientId);
    form.set('client_secret', emulator.clientSecret);
  }
  const response = await send(tokenUrl(emulator), {
    method: 'POST',
    headers: { 'content-type': FORM, ...(basic ? { authorization: basicAuth(emulator.clientId, emulator.clientSecret) } : {}) },
    body: form.toString(),
  });
  const token = (response.json as { access_token?: unknown } | undefined)?.access_token;
  if (response.status !== 200 || typeof token !== 'string') throw new Error(`token request failed: ${response.status} ${response.text}`);
  return token;
}

/** `${apiUrl}/environments/${environmentId}${suffix}` */
export function envUrl(emulator: Emulator, suffix = ''): string {
  return `${emulator.apiUrl}/environments/${emulator.environmentId}${suffix}`;
}

/** A typed view into parsed JSON for assertions, without `any`. */
export function field(value: unknown, ...path: Array<string | number>): unknown {
  let current: unknown = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Sends one request with the path exactly as given (no URL normalisation of
 * `..` or percent-encoding, which URL parsers would otherwise apply).
 */
export function rawRequest(
  emulator: Emulator,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { port } = new URL(emulator.authUrl);
  const head = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(`${head.join('\r\n')}\r\n\r\n`));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const lines = text.slice(0, split).split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1]);
      const parsed: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status, headers: parsed, body: text.slice(split + 4) });
    });
  });
}
