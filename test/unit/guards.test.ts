import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { Uuid } from '../../src/ids.js';
import type { UserRecord } from '../../src/pingone/records.js';
import { MemoryWriteLimiter } from '../../src/store/memory.js';
import { targetDenial } from '../../src/tools/guards.js';

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
      maxWritesPerOperatorPerMinute: undefined,
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
      maxWritesPerOperatorPerMinute: undefined,
      confirm: 'always',
      requireReason: true,
    });
  });

  it.each([
    [{ PINGONE_MCP_TOOLS: 'unlock_user,delete_user' }, /PINGONE_MCP_TOOLS names unknown tools \(delete_user\)/],
    [{ PINGONE_MCP_TOOLS: ' , ' }, /PINGONE_MCP_TOOLS is empty/],
    [{ PINGONE_MCP_ALLOWED_POPULATIONS: 'Staff' }, /PINGONE_MCP_ALLOWED_POPULATIONS must be population IDs/],
    [{ PINGONE_MCP_MAX_WRITES_PER_MINUTE: '0' }, /PINGONE_MCP_MAX_WRITES_PER_MINUTE must be a whole number from 1 to/],
    [{ PINGONE_MCP_MAX_WRITES_PER_MINUTE: '2.5' }, /PINGONE_MCP_MAX_WRITES_PER_MINUTE/],
    [{ PINGONE_MCP_CONFIRM: 'sometimes' }, /PINGONE_MCP_CONFIRM must be one of auto, always, never/],
    [{ PINGONE_MCP_READ_ONLY: 'yes' }, /PINGONE_MCP_READ_ONLY must be one of true, false/],
    [{ PINGONE_MCP_REQUIRE_REASON: '1' }, /PINGONE_MCP_REQUIRE_REASON/],
  ])('rejects %j with a sentence naming the variable', (env, message) => {
    expect(() => guards(env)).toThrow(ConfigError);
    expect(() => guards(env)).toThrow(message);
  });
});

describe('targetDenial: decided on PingOne\'s raw identity', () => {
  const record = (identity: Partial<UserRecord['identity']> = {}): UserRecord => ({
    identity: { id: '5412b934-c252-4a33-bd11-22988989ff47' as Uuid, username: 'jdoe', email: 'jane.doe@example.com', populationId: STAFF as Uuid, ...identity },
    username: undefined,
    email: undefined,
    name: undefined,
    enabled: true,
    account: {},
  });
  const codeOf = (env: Record<string, string>, user: UserRecord) => targetDenial(guards(env), user)?.code;

  it('passes an unprotected user of an allowed population', () => {
    expect(codeOf({ PINGONE_MCP_ALLOWED_POPULATIONS: STAFF }, record())).toBeUndefined();
  });

  it('denies protected users by username, email or ID, ignoring case', () => {
    expect(codeOf({ PINGONE_MCP_PROTECTED_USERS: 'JDoe' }, record())).toBe('PROTECTED_USER');
    expect(codeOf({ PINGONE_MCP_PROTECTED_USERS: 'Jane.Doe@Example.com' }, record())).toBe('PROTECTED_USER');
    expect(codeOf({ PINGONE_MCP_PROTECTED_USERS: record().identity.id.toUpperCase() }, record())).toBe('PROTECTED_USER');
    expect(codeOf({ PINGONE_MCP_PROTECTED_USERS: 'someone-else' }, record())).toBeUndefined();
  });

  it('compares the raw values, not their masked display forms', () => {
    const admin = record({ username: 'admin@corp.example', email: undefined });
    expect(codeOf({ PINGONE_MCP_PROTECTED_USERS: 'admin@corp.example' }, admin)).toBe('PROTECTED_USER');
    expect(codeOf({ PINGONE_MCP_PROTECTED_USERS: 'a***@corp.example' }, admin)).toBeUndefined();
    expect(codeOf({ PINGONE_MCP_PROTECTED_USERS: '100200300400' }, record({ username: '100200300400' }))).toBe('PROTECTED_USER');
  });

  it('normalises both sides to NFC before comparing', () => {
    expect(codeOf({ PINGONE_MCP_PROTECTED_USERS: 'jose\u0301' }, record({ username: 'Jos\u00e9' }))).toBe('PROTECTED_USER');
    expect(codeOf({ PINGONE_MCP_PROTECTED_USERS: 'Jos\u00e9' }, record({ username: 'JOSE\u0301' }))).toBe('PROTECTED_USER');
  });

  it('denies users of other populations, and users without one', () => {
    expect(codeOf({ PINGONE_MCP_ALLOWED_POPULATIONS: 'e7fc78d2-da87-47eb-8e2d-48b1db3193e5' }, record())).toBe('POPULATION_NOT_ALLOWED');
    expect(codeOf({ PINGONE_MCP_ALLOWED_POPULATIONS: STAFF }, record({ populationId: undefined }))).toBe('POPULATION_NOT_ALLOWED');
  });
});

describe('MemoryWriteLimiter', () => {
  it('reserves up to the limit within a minute, then says how long to wait, then allows again', async () => {
    let now = 1_000_000;
    const limiter = new MemoryWriteLimiter({ total: 2, perOperator: undefined }, () => now);
    expect((await limiter.reserve('local')).granted).toBe(true);
    now += 10_000;
    expect((await limiter.reserve('local')).granted).toBe(true);
    now += 5_000;
    expect(await limiter.reserve('local')).toEqual({ granted: false, limit: 'server', retryAfterMs: 45_000 });
    now += 45_000;
    expect((await limiter.reserve('local')).granted).toBe(true);
    expect((await limiter.reserve('local')).granted).toBe(false);
  });

  it('gives a released slot back, once', async () => {
    const limiter = new MemoryWriteLimiter({ total: 1, perOperator: undefined }, () => 0);
    const first = await limiter.reserve('local');
    if (!first.granted) throw new Error('expected a slot');
    expect((await limiter.reserve('local')).granted).toBe(false);
    await first.reservation.release();
    await first.reservation.release();
    const second = await limiter.reserve('local');
    expect(second.granted).toBe(true);
    expect((await limiter.reserve('local')).granted).toBe(false);
  });

  it('never grants more than the limit to calls racing for it', async () => {
    const limiter = new MemoryWriteLimiter({ total: 3, perOperator: undefined });
    const results = await Promise.all(Array.from({ length: 20 }, () => limiter.reserve('local')));
    expect(results.filter((r) => r.granted)).toHaveLength(3);
  });

  it('limits each operator separately within the total', async () => {
    const limiter = new MemoryWriteLimiter({ total: 3, perOperator: 1 }, () => 0);
    expect((await limiter.reserve('alice')).granted).toBe(true);
    expect(await limiter.reserve('alice')).toMatchObject({ granted: false, limit: 'operator' });
    expect((await limiter.reserve('bob')).granted).toBe(true);
    expect((await limiter.reserve('carol')).granted).toBe(true);
    expect(await limiter.reserve('dave')).toMatchObject({ granted: false, limit: 'server' });
  });
});
