import { parseUuid, type Uuid } from '../ids.js';
import type { TokenAuthMethod } from '../pingone/token.js';
import { ConfigError, isLoopbackHost, nonEmpty, oneOf } from './values.js';

/** Where PingOne is: the tenant's settings, or the embedded emulator. */

export const REGIONS = {
  NA: 'com',
  EU: 'eu',
  AP: 'asia',
  CA: 'ca',
  AU: 'com.au',
  SG: 'sg',
} as const;
export type RegionCode = keyof typeof REGIONS;

export interface PingOneSettings {
  environmentId: Uuid;
  authEnvironmentId: Uuid;
  clientId: string;
  clientSecret: string;
  /** API base including `/v1`, no trailing slash. */
  apiUrl: string;
  /** Auth base, no trailing slash; the token endpoint is `{authUrl}/{authEnvironmentId}/as/token`. */
  authUrl: string;
  tokenAuthMethod: TokenAuthMethod;
}

/** Where PingOne is: a real tenant, or the embedded emulator started in-process. */
export type Target = { kind: 'tenant'; pingone: PingOneSettings } | { kind: 'sandbox' };

const SANDBOX_HINT = 'or run with --sandbox to try the server without a tenant';

export function loadPingOneSettings(env: NodeJS.ProcessEnv): PingOneSettings {
  const environmentId = requiredUuid(env, 'PINGONE_ENVIRONMENT_ID', 'the ID of the PingOne environment whose users this server manages');
  const authEnvironmentId =
    nonEmpty(env.PINGONE_AUTH_ENVIRONMENT_ID) === undefined
      ? environmentId
      : requiredUuid(env, 'PINGONE_AUTH_ENVIRONMENT_ID', 'the ID of the environment that holds the worker app');
  const clientId = nonEmpty(env.PINGONE_CLIENT_ID);
  if (clientId === undefined) {
    throw new ConfigError(`PINGONE_CLIENT_ID is not set: set it to the worker app's client ID, ${SANDBOX_HINT}.`);
  }
  if (/\s/.test(clientId)) throw new ConfigError('PINGONE_CLIENT_ID contains whitespace: copy the client ID again from the worker app.');
  const clientSecret = env.PINGONE_CLIENT_SECRET;
  if (clientSecret === undefined || clientSecret.trim() === '') {
    throw new ConfigError(`PINGONE_CLIENT_SECRET is not set: set it to the worker app's client secret, ${SANDBOX_HINT}.`);
  }
  const region = oneOf('PINGONE_REGION_CODE', (nonEmpty(env.PINGONE_REGION_CODE) ?? 'NA').toUpperCase(), Object.keys(REGIONS) as RegionCode[]);
  const tld = REGIONS[region];
  const tokenAuthMethod = oneOf(
    'PINGONE_TOKEN_AUTH_METHOD',
    (nonEmpty(env.PINGONE_TOKEN_AUTH_METHOD) ?? 'client_secret_basic').toLowerCase(),
    ['client_secret_basic', 'client_secret_post'] as const,
  );
  return {
    environmentId,
    authEnvironmentId,
    clientId,
    clientSecret,
    apiUrl: baseUrl('PINGONE_API_URL', nonEmpty(env.PINGONE_API_URL) ?? `https://api.pingone.${tld}/v1`),
    authUrl: baseUrl('PINGONE_AUTH_URL', nonEmpty(env.PINGONE_AUTH_URL) ?? `https://auth.pingone.${tld}`),
    tokenAuthMethod,
  };
}

function requiredUuid(env: NodeJS.ProcessEnv, name: string, meaning: string): Uuid {
  const value = nonEmpty(env[name]);
  if (value === undefined) throw new ConfigError(`${name} is not set: set it to ${meaning}, ${SANDBOX_HINT}.`);
  const id = parseUuid(value);
  if (id === undefined) {
    throw new ConfigError(`${name} is not a UUID: set it to ${meaning} (8-4-4-4-12 hex digits, as shown in the PingOne admin console).`);
  }
  return id;
}

/** A base URL: https (plain http only for loopback, e.g. the emulator), no credentials, query or fragment. */
function baseUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a URL: set it to an https:// base URL such as https://api.pingone.eu/v1.`);
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError(`${name} must use https:// (plain http:// is accepted only for localhost and 127.0.0.1).`);
  }
  // An empty `?` or `#` leaves search/hash empty but stays in href, where it would swallow the path we append.
  if (url.username || url.password || url.search || url.hash || /[?#]/.test(url.href)) {
    throw new ConfigError(`${name} must be a plain base URL without credentials, query or fragment.`);
  }
  return url.href.replace(/\/+$/, '');
}
