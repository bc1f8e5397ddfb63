/**
 * One line of the audit trail. A tool call that writes to PingOne produces an
 * `intent` record (fsync'd before the write is sent) and an `outcome` record;
 * a call that ends without a write produces one `outcome` record; a call that
 * asks a person first adds an `asked` record before the question goes out.
 *
 * `hash` is SHA-256 (hex) of the RFC 8785 canonical JSON of the record without
 * `hash`, exactly as written: a field added in a later format is covered by the
 * hash of the record that carries it, and an older record without it still
 * verifies. `prevHash` is the previous record's `hash` ("" for the first record
 * of a trail). Personal data (emails, phone numbers) and secrets never enter a record.
 */

/**
 * The record format this release writes, as `v`. Records from release 0.1.0
 * carry no `v` (format 0); their fields are a subset of today's.
 * 1: adds `v`, and the `continued` record that starts a rotated file.
 * 2: adds `actor.verified`, the operator an OAuth access token named.
 */
export const AUDIT_FORMAT_VERSION = 2;
/**
 * `asked`: a write call put a question naming the account to a person and ends
 * here until they answer (a 2026-era client may never come back), so the read
 * that built the question has its own record; the resumed call keeps the auditId.
 */
export type AuditPhase = 'intent' | 'outcome' | 'asked';

export type AuditOutcome =
  | 'unlocked'
  | 'not_locked'
  | 'unblocked'
  | 'not_blocked'
  | 'failed'
  | 'denied'
  | 'invalid_input'
  /** A write tool's dryRun: every guard checked, nothing written. */
  | 'dry_run'
  /** The read tools. */
  | 'found'
  | 'listed'
  /** The server shut down while the call was in flight and cancelled it. */
  | 'interrupted';

export interface AuditTarget {
  environmentId: string;
  userId?: string;
  username?: string;
  deviceId?: string;
  deviceType?: string;
  /** The agent's lookup text when it did not resolve to a user; emails are masked. */
  lookup?: string;
}

export interface AuditActor {
  /** MCP client `name/version` as the client declared it. */
  client?: string;
  osUser: string;
  host: string;
  /**
   * The person accountable: on stdio PINGONE_MCP_OPERATOR (a claim by whoever
   * configured the server); over HTTP with OAuth the token's display name
   * (masked when it is an email), never the setting.
   */
  operator?: string;
  /**
   * Format 2, HTTP with OAuth only: the operator as a verified access token
   * named them. Issuer and subject identify the person; `operator` is for reading.
   */
  verified?: VerifiedActor;
}

export interface VerifiedActor {
  /** The token's `iss`, exactly as verified. */
  issuer: string;
  /** The token's `sub`. */
  subject: string;
}

export interface AuditPingOne {
  status?: number;
  correlationId?: string;
  errorCode?: string;
  errorId?: string;
}

/** What a caller hands to the trail; the trail adds time, seq and the chain. */
export interface AuditEntry {
  auditId: string;
  phase: AuditPhase;
  tool: string;
  target: AuditTarget;
  reason?: string;
  /** On an intent record: the PingOne write it announces (`unlockPassword`, `unlockUser`, …); a call that sends two writes records two intents. */
  write?: string;
  actor: AuditActor;
  outcome?: AuditOutcome;
  pingone?: AuditPingOne;
  durationMs?: number;
  /** True when the server ran against the embedded sandbox, never a real tenant. */
  sandbox?: true;
}

export interface AuditRecord extends AuditEntry {
  /** Format version; absent in records written by release 0.1.0. */
  v?: number;
  time: string;
  seq: number;
  prevHash: string;
  hash: string;
}

/**
 * The first record of a file started by `audit rotate`: it names the file the
 * trail continues from and that file's last record, and links to it (its
 * `prevHash` is that record's `hash`, its `seq` the next one), so a chain of
 * files verifies end to end.
 */
export interface AuditContinuation {
  v: number;
  time: string;
  seq: number;
  phase: 'continued';
  /** The previous file (its name, in the same directory) and its last record. */
  continues: { file: string; seq: number; hash: string };
  actor: Pick<AuditActor, 'osUser' | 'host'>;
  prevHash: string;
  hash: string;
}

/**
 * Appends to the audit trail; rejects when the record cannot be made durable.
 * Asynchronous so that no store (a file under a lock, a database) ever makes
 * the event loop wait for a disk or a network.
 */
export interface AuditSink {
  append(entry: AuditEntry): Promise<AuditRecord>;
  /** Whether appends can work now; `broken` says why not. */
  status(): { state: 'ready' } | { state: 'broken'; reason: string };
}
