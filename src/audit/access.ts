import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import { describeOsError, osErrorCode } from './errors.js';
import type { AuditFileStat } from './fileSystem.js';

/**
 * Who may change the audit file. A trail that others can rewrite proves
 * nothing, so such a file is refused; one that others can only read is used
 * with a warning, since a log shipper may need to read it. A file with a
 * second name (a hard link) is refused: the lock is keyed on one name. Names
 * are judged only under the lock (`when` is `locked`): `audit rotate` gives the file a
 * second name, the kept one, for a moment under it.
 */
export function judgeAccess(path: string, stat: AuditFileStat, when: 'open' | 'locked'): { refuse?: string; warn?: string } {
  const uid = process.getuid?.();
  if (process.platform === 'win32' || uid === undefined) return {};
  const mode = `0${(stat.mode & 0o777).toString(8)}`;
  if (stat.uid !== uid) {
    return { refuse: `The audit file ${path} belongs to user ${stat.uid}, not to this server's user ${uid}; give it to this user (chown) or choose another file.` };
  }
  // Another name for the file has another real path, so another lock: two servers would fork the chain.
  if (when === 'locked' && stat.nlink > 1) {
    return { refuse: `The audit file ${path} has ${stat.nlink} names (hard links), so a server writing through another name would not share its lock; remove the other names or choose another file.` };
  }
  if ((stat.mode & 0o022) !== 0) return { refuse: `The audit file ${path} can be changed by other users (mode ${mode}); run chmod 600 on it.` };
  if ((stat.mode & 0o044) !== 0) {
    return { warn: `The audit file ${path} can be read by other users (mode ${mode}); run chmod 600 on it unless a log shipper needs to read it.` };
  }
  return {};
}

/** describeOsError, except that a parent path that is a file is named as such (mkdir says EEXIST). */
export async function explainOpenFailure(path: string, cause: unknown): Promise<string> {
  const code = osErrorCode(cause);
  if (code === 'EEXIST' || code === 'ENOTDIR') {
    for (let dir = nodePath.dirname(path); dir !== nodePath.dirname(dir); dir = nodePath.dirname(dir)) {
      const stat = await fs.stat(dir).catch(() => undefined);
      if (stat !== undefined && !stat.isDirectory()) return `${dir} is a file, not a directory`;
    }
  }
  return describeOsError(cause);
}
