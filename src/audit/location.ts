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
  const home = options.home ?? os.homedir();
  const file = options.sandbox === true ? 'sandbox-audit.jsonl' : 'audit.jsonl';

  if (platform === 'win32') {
    const localAppData = nonEmpty(env.LOCALAPPDATA);
    const base = localAppData !== undefined && path.win32.isAbsolute(localAppData)
      ? localAppData
      : path.win32.join(home, 'AppData', 'Local');
    return path.win32.join(base, APP_DIR, file);
  }
  if (platform === 'darwin') {
    return path.posix.join(home, 'Library', 'Logs', APP_DIR, file);
  }
  // The XDG spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  const stateHome = nonEmpty(env.XDG_STATE_HOME);
  const base = stateHome !== undefined && path.posix.isAbsolute(stateHome)
    ? stateHome
    : path.posix.join(home, '.local', 'state');
  return path.posix.join(base, APP_DIR, file);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
