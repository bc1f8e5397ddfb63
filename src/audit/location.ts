import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const APP_DIR = 'pingone-helpdesk-mcp';

export interface AuditLocationOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
  /** Sandbox runs get their own file, so demo records never mix with a real trail. */
  sandbox?: boolean;
}

/**
 * Where the audit trail lives when nothing is configured: the platform's place
 * for an application's persistent state/logs, per user.
 * - Linux and others: `$XDG_STATE_HOME/pingone-helpdesk-mcp/audit.jsonl`, else `~/.local/state/…`
 * - macOS: `~/Library/Logs/pingone-helpdesk-mcp/audit.jsonl`
 * - Windows: `%LOCALAPPDATA%\pingone-helpdesk-mcp\audit.jsonl`, else `<home>\AppData\Local\…`
 */
export function defaultAuditLogPath(options: AuditLocationOptions = {}): string {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const home = (): string => options.home ?? homeDirectory();
  const file = options.sandbox === true ? 'sandbox-audit.jsonl' : 'audit.jsonl';

  if (platform === 'win32') {
    const localAppData = nonEmpty(env.LOCALAPPDATA);
    const base = localAppData !== undefined && path.win32.isAbsolute(localAppData)
      ? localAppData
      : path.win32.join(home(), 'AppData', 'Local');
    return path.win32.join(base, APP_DIR, file);
  }
  if (platform === 'darwin') {
    return path.posix.join(home(), 'Library', 'Logs', APP_DIR, file);
  }
  // The XDG spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  const stateHome = nonEmpty(env.XDG_STATE_HOME);
  const base = stateHome !== undefined && path.posix.isAbsolute(stateHome)
    ? stateHome
    : path.posix.join(home(), '.local', 'state');
  return path.posix.join(base, APP_DIR, file);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** Why the audit trail's location cannot be worked out or used; the message names the fix. */
export class AuditLocationError extends Error {
  override readonly name = 'AuditLocationError';
}

const FIX = 'set PINGONE_MCP_AUDIT_LOG (or --audit-log) to a file on a real disk';

/** The user's home directory; without HOME and without a passwd entry, an AuditLocationError naming the fix. */
function homeDirectory(): string {
  try {
    return os.homedir();
  } catch {
    throw new AuditLocationError(`No home directory is known for this user (HOME is not set and the system has no account entry for it), so the audit trail has no default place: ${FIX}, or set HOME.`);
  }
}

/** File systems that hold no files: a trail there is lost, and creating directories in /proc can spin forever. */
const VIRTUAL_FILE_SYSTEMS: Readonly<Record<number, string>> = { 0x9fa0: 'proc', 0x62656572: 'sysfs', 0x64626720: 'debugfs', 0x74726163: 'tracefs', 0x27e0eb: 'cgroup', 0x63677270: 'cgroup2' };

/**
 * A start-up check of the audit path, before anything is created: undefined
 * when it can be used, else one sentence naming the fix. Problems the running
 * trail reports itself (permissions, a full disk) are left to it.
 */
export function auditPathProblem(file: string): string | undefined {
  const absolute = path.resolve(file);
  if (process.platform === 'win32') return undefined;
  let existing = absolute;
  for (;;) {
    try {
      fs.statSync(existing);
      break;
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return undefined;
      existing = parent;
    }
  }
  let real = existing;
  try {
    real = fs.realpathSync(existing);
  } catch {
    // keep the path as given
  }
  let kind: string | undefined;
  try {
    kind = VIRTUAL_FILE_SYSTEMS[fs.statfsSync(existing).type];
  } catch {
    // statfs unavailable: fall back to the well-known mount points
  }
  kind ??= /^\/(proc|sys)(\/|$)/.exec(real)?.[1];
  if (kind === undefined) return undefined;
  return `The audit trail ${absolute} would be on the ${kind} virtual file system, which cannot hold files: ${FIX}.`;
}
