import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuditSink } from '../audit/record.js';

export interface ReadinessSources {
  /** The trail: a file's sink or the database's, whose status says whether the last append (or probe) got through. */
  audit: AuditSink;
  /** The trail's file, checked for writability; undefined when the trail is in a database. */
  auditPath: string | undefined;
  /** A cached worker token, or a successful token request within `withinMs`. */
  hasRecentToken(withinMs: number): boolean;
  /** Asks PingOne for a token; resolves true on success. */
  warmUp(): Promise<boolean>;
}

/** A token request this recent counts as "PingOne answers us". */
const RECENT_TOKEN_MS = 5 * 60_000;
/** Without a recent token, at most one token request per this interval, whatever the probe rate. */
const WARM_UP_INTERVAL_MS = 30_000;

/**
 * Ready = the audit trail can be written and PingOne gave us a token lately.
 * A probe never calls PingOne itself: when no token is recent it starts at
 * most one background token request per interval and answers from state.
 */
export function createReadiness(sources: ReadinessSources): { ready: () => Promise<boolean>; warmUp: () => Promise<boolean> } {
  let lastAttempt = -Infinity;
  let warming: Promise<boolean> | undefined;
  const warmUp = (): Promise<boolean> => {
    lastAttempt = Date.now();
    warming ??= sources.warmUp().finally(() => {
      warming = undefined;
    });
    return warming;
  };
  const ready = async (): Promise<boolean> => {
    const auditOk = sources.audit.status().state === 'ready' && (sources.auditPath === undefined || (await writable(sources.auditPath)));
    const tokenOk = sources.hasRecentToken(RECENT_TOKEN_MS);
    if (!tokenOk && warming === undefined && Date.now() - lastAttempt >= WARM_UP_INTERVAL_MS) void warmUp();
    return auditOk && tokenOk;
  };
  return { ready, warmUp };
}

/** The trail's file is writable, or, before its first record, its directory is. */
async function writable(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return false;
  }
  try {
    await access(dirname(path), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
