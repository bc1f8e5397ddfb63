import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, REGIONS, type Config, type PingOneSettings } from '../../src/config.js';

const ENV_ID = '0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b';
const AUTH_ENV_ID = 'a1b2c3d4-e5f6-4789-9abc-def012345678';
const SECRET = 'wX9!kQ2#rT7$zP4&';

function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PINGONE_ENVIRONMENT_ID: ENV_ID,
    PINGONE_CLIENT_ID: 'worker-client-id',
    PINGONE_CLIENT_SECRET: SECRET,
    PINGONE_MCP_AUDIT_LOG: '/tmp/audit-under-test.jsonl',
    ...extra,
  };
}

function tenant(config: Config): PingOneSettings {
  if (config.target.kind !== 'tenant') throw new Error(`expected a tenant target, got ${config.target.kind}`);
  return config.target.pingone;
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

describe('loadConfig defaults', () => {
  it('uses the NA hosts, Basic client auth, the managed environment for auth, and log level info', () => {
    const config = loadConfig(baseEnv());
    const p = tenant(config);
    expect(p.apiUrl).toBe('https://api.pingone.com/v1');
    expect(p.authUrl).toBe('https://auth.pingone.com');
    expect(p.tokenAuthMethod).toBe('client_secret_basic');
    expect(p.environmentId).toBe(ENV_ID);
    expect(p.authEnvironmentId).toBe(ENV_ID);
    expect(p.clientId).toBe('worker-client-id');
    expect(p.clientSecret).toBe(SECRET);
    expect(config.logLevel).toBe('info');
    expect(config.auditLogPath).toBe('/tmp/audit-under-test.jsonl');
    expect(config.operator).toBeUndefined();
  });

  it('lower-cases the environment IDs and honours a separate auth environment', () => {
    const p = tenant(loadConfig(baseEnv({ PINGONE_ENVIRONMENT_ID: ENV_ID.toUpperCase(), PINGONE_AUTH_ENVIRONMENT_ID: AUTH_ENV_ID })));
    expect(p.environmentId).toBe(ENV_ID);
    expect(p.authEnvironmentId).toBe(AUTH_ENV_ID);
  });

  it('treats blank optional variables as unset', () => {
    const p = tenant(loadConfig(baseEnv({ PINGONE_AUTH_ENVIRONMENT_ID: '  ', PINGONE_REGION_CODE: '', PINGONE_API_URL: ' ' })));
    expect(p.authEnvironmentId).toBe(ENV_ID);
    expect(p.apiUrl).toBe('https://api.pingone.com/v1');
  });

  it('accepts client_secret_post in any case', () => {
    expect(tenant(loadConfig(baseEnv({ PINGONE_TOKEN_AUTH_METHOD: 'CLIENT_SECRET_POST' }))).tokenAuthMethod).toBe('client_secret_post');
  });

  it('records a valid operator and rejects one with control characters', () => {
    expect(loadConfig(baseEnv({ PINGONE_MCP_OPERATOR: 'dana@example.com' })).operator).toBe('dana@example.com');
    expect(configError(() => loadConfig(baseEnv({ PINGONE_MCP_OPERATOR: 'dana\nforged line' }))).message).toContain('PINGONE_MCP_OPERATOR');
  });
});

describe('regions', () => {
  it.each([
    ['NA', 'com'],
    ['EU', 'eu'],
    ['AP', 'asia'],
    ['CA', 'ca'],
    ['AU', 'com.au'],
    ['SG', 'sg'],
  ])('%s uses api.pingone.%s', (code, tld) => {
    expect(REGIONS[code as keyof typeof REGIONS]).toBe(tld);
    for (const spelled of [code, code.toLowerCase()]) {
      const p = tenant(loadConfig(baseEnv({ PINGONE_REGION_CODE: spelled })));
      expect(p.apiUrl).toBe(`https://api.pingone.${tld}/v1`);
      expect(p.authUrl).toBe(`https://auth.pingone.${tld}`);
    }
  });

  it('rejects an unknown region code, naming the variable and the allowed codes', () => {
    const error = configError(() => loadConfig(baseEnv({ PINGONE_REGION_CODE: 'US' })));
    expect(error.message).toContain('PINGONE_REGION_CODE');
    expect(error.message).toContain('NA, EU, AP, CA, AU, SG');
    expect(error.message).toContain('"US"');
  });
});

describe('URL overrides', () => {
  it('uses PINGONE_API_URL and PINGONE_AUTH_URL over the region, without trailing slashes', () => {
    const p = tenant(
      loadConfig(baseEnv({ PINGONE_REGION_CODE: 'EU', PINGONE_API_URL: 'https://api.example.test/v1/', PINGONE_AUTH_URL: 'https://auth.example.test//' })),
    );
    expect(p.apiUrl).toBe('https://api.example.test/v1');
    expect(p.authUrl).toBe('https://auth.example.test');
  });

  it.each(['http://localhost:8080/v1', 'http://127.0.0.1:9000/v1', 'http://127.45.6.7/v1', 'http://[::1]:9000/v1', 'http://LOCALHOST/v1'])(
    'accepts plain http for the loopback URL %s',
    (url) => {
      const p = tenant(loadConfig(baseEnv({ PINGONE_API_URL: url, PINGONE_AUTH_URL: url })));
      expect(p.apiUrl.startsWith('http://')).toBe(true);
      expect(p.apiUrl.endsWith('/v1')).toBe(true);
    },
  );

  it.each([
    'http://api.pingone.com/v1',
    'http://localhost.evil.test/v1',
    'http://127.0.0.1.nip.io/v1',
    'http://10.0.0.1/v1',
    'ftp://127.0.0.1/v1',
    'file:///etc/passwd',
  ])('requires https for %s', (url) => {
    const error = configError(() => loadConfig(baseEnv({ PINGONE_API_URL: url })));
    expect(error.message).toContain('PINGONE_API_URL');
    expect(error.message).toContain('https://');
  });

  it.each([
    'https://user:pw@api.example.test/v1',
    'https://user@api.example.test/v1',
    'https://api.example.test/v1?x=1',
    'https://api.example.test/v1#frag',
    'https://api.example.test/v1?',
    'https://api.example.test/v1#',
  ])('rejects %s (credentials, query or fragment)', (url) => {
    const error = configError(() => loadConfig(baseEnv({ PINGONE_AUTH_URL: url })));
    expect(error.message).toContain('PINGONE_AUTH_URL');
    expect(error.message).toContain('without credentials, query or fragment');
  });

  it('rejects text that is not a URL', () => {
    expect(configError(() => loadConfig(baseEnv({ PINGONE_API_URL: 'api.pingone.eu/v1' }))).message).toMatch(/^PINGONE_API_URL is not a URL/);
  });
});

describe('required variables', () => {
  it.each(['PINGONE_ENVIRONMENT_ID', 'PINGONE_CLIENT_ID', 'PINGONE_CLIENT_SECRET'])('names %s when it is missing or blank', (name) => {
    for (const value of [undefined, '', '   ']) {
      const env = baseEnv();
      if (value === undefined) delete env[name];
      else env[name] = value;
      const error = configError(() => loadConfig(env));
      expect(error.message).toContain(`${name} is not set`);
      expect(error.message).toContain('--sandbox');
    }
  });

  it.each(['PINGONE_ENVIRONMENT_ID', 'PINGONE_AUTH_ENVIRONMENT_ID'])('names %s when it is not a UUID', (name) => {
    for (const value of ['prod', `${ENV_ID}x`, ENV_ID.replace(/-/g, ''), `../${ENV_ID}`]) {
      const error = configError(() => loadConfig(baseEnv({ [name]: value })));
      expect(error.message).toContain(`${name} is not a UUID`);
    }
  });

  it('names PINGONE_CLIENT_ID when it contains whitespace', () => {
    expect(configError(() => loadConfig(baseEnv({ PINGONE_CLIENT_ID: 'abc def' }))).message).toContain('PINGONE_CLIENT_ID contains whitespace');
  });

  it('rejects an unknown token auth method, naming the variable', () => {
    const error = configError(() => loadConfig(baseEnv({ PINGONE_TOKEN_AUTH_METHOD: 'private_key_jwt' })));
    expect(error.message).toContain('PINGONE_TOKEN_AUTH_METHOD');
    expect(error.message).toContain('client_secret_basic, client_secret_post');
  });

  it('never puts the client secret into a ConfigError message', () => {
    type Breakage = (env: NodeJS.ProcessEnv, secret: string) => void;
    const breakages: Breakage[] = [
      (env) => void (env.PINGONE_ENVIRONMENT_ID = 'not-a-uuid'),
      (env) => void delete env.PINGONE_ENVIRONMENT_ID,
      (env) => void (env.PINGONE_AUTH_ENVIRONMENT_ID = 'nope'),
      (env) => void delete env.PINGONE_CLIENT_ID,
      (env) => void (env.PINGONE_CLIENT_ID = 'has space'),
      (env) => void (env.PINGONE_REGION_CODE = 'MARS'),
      (env) => void (env.PINGONE_TOKEN_AUTH_METHOD = 'tls_client_auth'),
      (env) => void (env.PINGONE_MCP_LOG_LEVEL = 'verbose'),
      (env) => void (env.PINGONE_API_URL = 'http://api.pingone.com/v1'),
      (env) => void (env.PINGONE_AUTH_URL = 'https://auth.pingone.com/?x=y'),
      // A secret pasted into a URL's credentials must not be echoed either.
      (env, secret) => void (env.PINGONE_AUTH_URL = `https://worker:${encodeURIComponent(secret)}@auth.pingone.com`),
      (env, secret) => void (env.PINGONE_API_URL = `https://${encodeURIComponent(secret)}@api.pingone.com/v1`),
    ];
    fc.assert(
      fc.property(
        fc.string({ minLength: 12, maxLength: 64 }).filter((s) => s.trim().length >= 12 && !/\s\s/.test(s)),
        fc.constantFrom(...breakages.keys()),
        (secret, which) => {
          const env = baseEnv({ PINGONE_CLIENT_SECRET: secret });
          breakages[which]?.(env, secret);
          const error = configError(() => loadConfig(env));
          expect(error.message).not.toContain(secret);
          expect(error.message).not.toContain(secret.trim());
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('sandbox and flags', () => {
  it('--sandbox needs no PingOne variables at all', () => {
    const config = loadConfig({}, { sandbox: true, auditLog: '/tmp/sandbox.jsonl' });
    expect(config.target).toEqual({ kind: 'sandbox' });
    expect(config.auditLogPath).toBe('/tmp/sandbox.jsonl');
    expect(config.logLevel).toBe('info');
  });

  it('--sandbox without --audit-log uses a sandbox-specific default file', () => {
    const config = loadConfig({ XDG_STATE_HOME: '/tmp/xdg-state' }, { sandbox: true });
    expect(config.auditLogPath).toMatch(/sandbox/);
  });

  it('without --sandbox, missing credentials are an error', () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
  });

  it('flags override the environment for the audit log and the log level', () => {
    const env = baseEnv({ PINGONE_MCP_AUDIT_LOG: '/from/env.jsonl', PINGONE_MCP_LOG_LEVEL: 'debug' });
    expect(loadConfig(env).logLevel).toBe('debug');
    expect(loadConfig(env).auditLogPath).toBe('/from/env.jsonl');
    const flagged = loadConfig(env, { auditLog: '/from/flag.jsonl', logLevel: 'warn' });
    expect(flagged.auditLogPath).toBe('/from/flag.jsonl');
    expect(flagged.logLevel).toBe('warn');
  });

  it('rejects an invalid log level, naming what the person typed: the variable or the flag', () => {
    const fromEnv = configError(() => loadConfig(baseEnv({ PINGONE_MCP_LOG_LEVEL: 'loud' })));
    expect(fromEnv.message).toMatch(/^PINGONE_MCP_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "loud"/);
    const fromFlag = configError(() => loadConfig(baseEnv({ PINGONE_MCP_LOG_LEVEL: 'debug' }), { logLevel: 'loud' }));
    expect(fromFlag.message).toMatch(/^--log-level must be one of fatal, error, warn, info, debug, trace, silent; got "loud"/);
  });

  it('names --confirm and --tools when the bad value came from the flag', () => {
    expect(configError(() => loadConfig(baseEnv(), { confirm: 'maybe' })).message).toMatch(/^--confirm must be one of auto, always, never; got "maybe"/);
    expect(configError(() => loadConfig(baseEnv({ PINGONE_MCP_CONFIRM: 'maybe' }))).message).toMatch(/^PINGONE_MCP_CONFIRM must be one of/);
    expect(configError(() => loadConfig(baseEnv(), { tools: 'unlock_everyone' })).message).toMatch(/^--tools names unknown tools \(unlock_everyone\)/);
    expect(configError(() => loadConfig(baseEnv({ PINGONE_MCP_TOOLS: 'unlock_everyone' }))).message).toMatch(/^PINGONE_MCP_TOOLS names unknown tools/);
  });
});

describe('PINGONE_MCP_SHUTDOWN_GRACE_MS', () => {
  it('defaults to 10 s and accepts whole milliseconds up to 600000', () => {
    expect(loadConfig({}, { sandbox: true }).shutdownGraceMs).toBe(10_000);
    expect(loadConfig({ PINGONE_MCP_SHUTDOWN_GRACE_MS: '0' }, { sandbox: true }).shutdownGraceMs).toBe(0);
    expect(loadConfig({ PINGONE_MCP_SHUTDOWN_GRACE_MS: '600000' }, { sandbox: true }).shutdownGraceMs).toBe(600_000);
  });

  it.each(['-1', '1.5', '600001', '10s'])('rejects %j with a sentence naming the variable', (value) => {
    expect(() => loadConfig({ PINGONE_MCP_SHUTDOWN_GRACE_MS: value }, { sandbox: true })).toThrow(/PINGONE_MCP_SHUTDOWN_GRACE_MS must be whole milliseconds/);
  });
});
