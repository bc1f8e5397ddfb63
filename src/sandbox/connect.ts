import type { PingOneSettings } from '../config.js';
import type { Emulator } from './emulator.js';

/** What a server in this process needs to use the emulator as its PingOne. */
export function settingsFor(emulator: Emulator): PingOneSettings {
  return {
    environmentId: emulator.environmentId,
    authEnvironmentId: emulator.environmentId,
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    apiUrl: emulator.apiUrl,
    authUrl: emulator.authUrl,
    tokenAuthMethod: emulator.tokenAuthMethod,
  };
}

/** The PINGONE_* variables that point a spawned server at the emulator, as at a real tenant. */
export function environmentFor(emulator: Emulator): Record<string, string> {
  return {
    PINGONE_ENVIRONMENT_ID: emulator.environmentId,
    PINGONE_CLIENT_ID: emulator.clientId,
    PINGONE_CLIENT_SECRET: emulator.clientSecret,
    PINGONE_API_URL: emulator.apiUrl,
    PINGONE_AUTH_URL: emulator.authUrl,
    PINGONE_TOKEN_AUTH_METHOD: emulator.tokenAuthMethod,
  };
}
