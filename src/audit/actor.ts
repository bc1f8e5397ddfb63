import * as os from 'node:os';
import type { AuditActor } from './record.js';

/**
 * Who is acting, as far as this machine can tell: the OS account running the
 * server and the host, plus the accountable operator (PINGONE_MCP_OPERATOR) and
 * the MCP client when known.
 */
export function localActor(options: { operator?: string; client?: string } = {}): AuditActor {
  return {
    ...(options.client === undefined ? {} : { client: options.client }),
    osUser: osUserName(),
    host: hostName(),
    ...(options.operator === undefined ? {} : { operator: options.operator }),
  };
}

function osUserName(): string {
  try {
    // Throws when the uid has no passwd entry (common in containers).
    const name = os.userInfo().username;
    if (name !== '') return name;
  } catch {
    // fall through to the environment
  }
  return process.env.USER || process.env.USERNAME || 'unknown';
}

function hostName(): string {
  try {
    return os.hostname() || 'unknown';
  } catch {
    return 'unknown';
  }
}
