/**
 * What every configuration block reads settings with. Every problem becomes a
 * ConfigError whose message is one sentence naming the variable and the fix,
 * and never a secret's value.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** A comma-separated list; undefined when the variable is unset or blank. */
export function list(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

export function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const value = nonEmpty(env[name]);
  if (value === undefined) return fallback;
  return oneOf(name, value.toLowerCase(), ['true', 'false'] as const) === 'true';
}

export function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === '' ? undefined : trimmed;
}

// A plain membership test: building a zod enum per setting cost a few milliseconds of every start-up.
export function oneOf<const T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!isOneOf(value, allowed)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}; got "${value.slice(0, 40)}".`);
  return value;
}

function isOneOf<T extends string>(value: string, allowed: readonly T[]): value is T {
  return (allowed as readonly string[]).includes(value);
}

export function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = nonEmpty(env[name]);
  if (text === undefined) return fallback;
  if (!/^\d{1,6}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}; got "${text.slice(0, 20)}".`);
  }
  return Number(text);
}

const LOOPBACK_ADDRESSES = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_ADDRESSES.test(host);
}
