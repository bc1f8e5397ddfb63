/**
 * The one error the audit trail throws when it cannot record. A caller that
 * gets it for an `intent` record must not send the PingOne write: an action
 * that cannot be audited is not taken.
 */
export class AuditUnavailableError extends Error {
  readonly code = 'AUDIT_UNAVAILABLE';
  /** The audit file concerned. */
  readonly path: string;
  /** The operating system's error code (`ENOSPC`, `EACCES`…) when the cause was an I/O error. */
  readonly osCode: string | undefined;

  constructor(message: string, details: { path: string; osCode?: string | undefined; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AuditUnavailableError';
    this.path = details.path;
    this.osCode = details.osCode;
  }
}

const OS_REASONS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EISDIR: 'the path is a directory',
  ENOTDIR: 'a parent of the path is not a directory',
  ENOENT: 'no such file or directory',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EBADF: 'bad file descriptor',
};

/** `err.code` when `err` looks like a Node system error. */
export function osErrorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** Whether this process, or the whole system, had no file descriptor left: passing, unlike a file-system fault. */
export function isOutOfDescriptors(err: unknown): boolean {
  const code = osErrorCode(err);
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * A short human phrase for an I/O failure: "no space left on device (ENOSPC)".
 * Never a stack trace; unknown errors fall back to their message.
 */
export function describeOsError(err: unknown): string {
  const code = osErrorCode(err);
  if (code !== undefined) {
    const known = OS_REASONS[code];
    if (known !== undefined) return `${known} (${code})`;
    // Node formats system errors as "CODE: description, syscall 'path'".
    const message = err instanceof Error ? err.message : '';
    const description = /^[A-Z0-9_]+: ([^,]+)/.exec(message)?.[1];
    return description === undefined ? code : `${description} (${code})`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** What an operator does about a trail that cannot be continued, as a command line to paste. */
export function verifyAdvice(path: string): string {
  return `run \`pingone-helpdesk-mcp audit verify ${shellQuote(path)}\`, then move the file aside to start a new trail.`;
}

/** The path as one shell word, for a command line the operator can paste. */
export function shellQuote(path: string): string {
  if (!/[\s"'$`!&|;<>()*?#~]/.test(path)) return path;
  if (process.platform === 'win32') return `"${path}"`;
  return `'${path.replace(/'/g, `'\\''`)}'`;
}
