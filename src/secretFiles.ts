import { readFileSync } from 'node:fs';

/**
 * Every secret setting can also come from a file named by `<NAME>_FILE`, the
 * container and Kubernetes convention (mounted secrets, never in `env` dumps).
 * Add a variable here and it gains a `_FILE` twin.
 */
export const SECRET_VARIABLES = ['PINGONE_CLIENT_SECRET', 'PINGONE_MCP_CONFIRM_KEY', 'PINGONE_MCP_DATABASE_URL'] as const;
export type SecretVariable = (typeof SECRET_VARIABLES)[number];

/** Why a `_FILE` setting could not be used; the message names the variables, never the content. */
export class SecretFileError extends Error {
  override readonly name = 'SecretFileError';
}

/**
 * Returns `env` with each `<NAME>_FILE` read into `<NAME>`. The file's one
 * trailing line break is dropped (editors and `echo` add it); an empty file
 * leaves the variable unset, so the usual "is not set" advice follows.
 */
export function withSecretFiles(
  env: NodeJS.ProcessEnv,
  names: readonly string[] = SECRET_VARIABLES,
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): NodeJS.ProcessEnv {
  const resolved: NodeJS.ProcessEnv = { ...env };
  for (const name of names) {
    const fileVariable = `${name}_FILE`;
    const path = env[fileVariable]?.trim();
    if (path === undefined || path === '') continue;
    if (env[name] !== undefined && env[name].trim() !== '') {
      throw new SecretFileError(`${name} and ${fileVariable} are both set: keep one of them.`);
    }
    let content: string;
    try {
      content = read(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new SecretFileError(`${fileVariable} names a file that cannot be read (${code}): check the path and that this user may read it.`);
    }
    const value = content.replace(/\r?\n$/, '');
    if (value.trim() === '') delete resolved[name];
    else resolved[name] = value;
  }
  return resolved;
}
