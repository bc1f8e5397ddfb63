import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { checkTarget, WriteRateLimiter } from '../../src/tools/guards.js';
import { ToolError } from '../../src/tools/errors.js';

const STAFF = '87f736d0-64ce-403e-8a95-a88d96d7e16d';
const guards = (env: Record<string, string> = {}) => loadConfig(env, { sandbox: true }).guards;

describe('guard configuration', () => {
  it('defaults: all tools, no population limit, nobody protected, 10 writes a minute, confirm auto, reason optional', () => {
    expect(guards()).toEqual({
      readOnly: false,
      tools: undefined,
      allowedPopulations: undefined,
      protectedUsers: new Set(),
      maxWritesPerMinute: 10,
      confirm: 'auto',
      requireReason: false,
    });
  });

  it('reads every variable, and flags win over the environment', () => {
    const config = loadConfig(
      {
        PINGONE_MCP_READ_ONLY: 'false',
        PINGONE_MCP_TOOLS: 'find_user, unlock_user',
        PINGONE_MCP_ALLOWED_POPULATIONS: STAFF.toUpperCase(),
        PINGONE_MCP_PROTECTED_USERS: 'CEO,admin',
        PINGONE_MCP_MAX_WRITES_PER_MINUTE: '3',
        PINGONE_MCP_CONFIRM: 'never',
        PINGONE_MCP_REQUIRE_REASON: 'TRUE',
      },
      { sandbox: true, readOnly: true, confirm: 'always', tools: 'find_user' },
    ).guards;
    expect(config).toEqual({
      readOnly: true,
      tools: new Set(['find_user']),
      allowedPopulations: new Set([STAFF]),
      protectedUsers: new Set(['ceo', 'admin']),
      maxWritesPerMinute: 3,
      confirm: 'always',
      requireReason: true,
    });
  });

  it.each([
    [{ PINGONE_MCP_TOOLS: 'unlock_user,delete_user' }, /PINGONE_MCP_TOOLS names unknown tools \(delete_user\)/],
    [{ PINGONE_MCP_TOOLS: ' , ' }, /PINGONE_MCP_TOOLS is empty/],
    [{ PINGONE_MCP_ALLOWED_POPULATIONS: 'Staff' }, /PINGONE_MCP_ALLOWED_POPULATIONS must be population IDs/],
    [{ PINGONE_MCP_MAX_WRITES_PER_MINUTE: '0' }, /PINGONE_MCP_MAX_WRITES_PER_MINUTE must be a whole number of at least 1/],
    [{ PINGONE_MCP_MAX_WRITES_PER_MINUTE: '2.5' }, /PINGONE_MCP_MAX_WRITES_PER_MINUTE/],
    [{ PINGONE_MCP_CONFIRM: 'sometimes' }, /PINGONE_MCP_CONFIRM must be one of auto, always, never/],
    [{ PINGONE_MCP_READ_ONLY: 'yes' }, /PINGONE_MCP_READ_ONLY must be one of true, false/],
    [{ PINGONE_MCP_REQUIRE_REASON: '1' }, /PINGONE_MCP_REQUIRE_REASON/],
  ])('rejects %j with a sentence naming the variable', (env, message) => {
    expect(() => guards(env)).toThrow(ConfigError);
    expect(() => guards(env)).toThrow(message);
  });
});

describe('checkTarget', () => {
  const user = { id: '5412b934-c252-4a33-bd11-22988989ff47', username: 'jdoe', populationId: STAFF, account: {} };
  const codeOf = (fn: () => void) => {
    try {
      fn();
      return undefined;
    } catch (error) {
      return error instanceof ToolError ? error.code : 'other';
    }
  };

  it('passes an unprotected user of an allowed population', () => {
    expect(codeOf(() => checkTarget(guards({ PINGONE_MCP_ALLOWED_POPULATIONS: STAFF }), user))).toBeUndefined();
  });

  it('denies protected users by username or ID, ignoring case', () => {
    expect(codeOf(() => checkTarget(guards({ PINGONE_MCP_PROTECTED_USERS: 'JDoe' }), user))).toBe('PROTECTED_USER');
    expect(codeOf(() => checkTarget(guards({ PINGONE_MCP_PROTECTED_USERS: user.id.toUpperCase() }), user))).toBe('PROTECTED_USER');
  });

  it('denies users of other populations, and users without one', () => {
    const other = guards({ PINGONE_MCP_ALLOWED_POPULATIONS: 'e7fc78d2-da87-47eb-8e2d-48b1db3193e5' });
    expect(codeOf(() => checkTarget(other, user))).toBe('POPULATION_NOT_ALLOWED');
    expect(codeOf(() => checkTarget(guards({ PINGONE_MCP_ALLOWED_POPULATIONS: STAFF }), { ...user, populationId: undefined }))).toBe('POPULATION_NOT_ALLOWED');
  });
});

describe('WriteRateLimiter', () => {
  it('allows the limit within a minute, then says how long to wait, then allows again', () => {
    let now = 1_000_000;
    const limiter = new WriteRateLimiter(2, () => now);
    limiter.take();
    now += 10_000;
    limiter.take();
    now += 5_000;
    let error: unknown;
    try {
      limiter.check();
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ToolError);
    expect((error as ToolError).details.retryAfterSeconds).toBe(45);
    now += 45_000;
    expect(() => limiter.take()).not.toThrow();
    expect(() => limiter.check()).toThrow(ToolError);
  });

  it('check takes nothing', () => {
    const limiter = new WriteRateLimiter(1, () => 0);
    limiter.check();
    limiter.check();
    expect(() => limiter.take()).not.toThrow();
  });
});
