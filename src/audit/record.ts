/**
 * One line of the audit trail. A tool call that writes to PingOne produces an
 * `intent` record (fsync'd before the write is sent) and an `outcome` record;
 * a call that ends without a write produces one `outcome` record.
 *
 * `hash` is SHA-256 (hex) of the RFC 8785 canonical JSON of the record without
 * `hash`; `prevHash` is the previous record's `hash` ("" for the first record of
 * a file). Personal data (emails, phone numbers) and secrets never enter a record.
 */
export type AuditPhase = 'intent' | 'outcome';

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
  /** From PINGONE_MCP_OPERATOR: the person accountable for this server instance. */
  operator?: string;
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
  actor: AuditActor;
  outcome?: AuditOutcome;
  pingone?: AuditPingOne;
  durationMs?: number;
  /** True when the server ran against the embedded sandbox, never a real tenant. */
  sandbox?: true;
}

export interface AuditRecord extends AuditEntry {
  time: string;
  seq: number;
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
