import type { McpServer, InputRequiredResult, ServerContext } from '@modelcontextprotocol/server';
import type { AuditActor, AuditEntry, AuditOutcome, AuditPhase, AuditPingOne, AuditSink, AuditTarget } from '../audit/record.js';
import type { Operator } from '../auth/operator.js';
import type { Guards, ScopeNames } from '../config.js';
import { maskIfPersonal } from '../mask.js';
import type { CallGate, InFlightCalls } from '../lifecycle.js';
import type { Logger } from '../logger.js';
import type { Outcome, SuccessOutcome } from '../outcomes.js';
import type { PingOneApi, Reply } from '../pingone/client.js';
import type { CallScope } from '../pingone/http.js';
import type { WriteLimiter } from '../store.js';
import { safeText } from '../text/untrusted.js';
import type { ToolName } from '../toolNames.js';
import type { ConfirmationGate } from './confirm.js';
import { ToolError } from './errors.js';
import { capitalize } from './output.js';

/**
 * One tool call as its body sees it, and the values a body returns. The
 * runtime (`runtime.ts`) runs bodies and turns what they return into results.
 */
/** Every outcome a result can carry is one the trail records (`outcomes.ts` is the vocabulary; audit/ should import it). */
const TRAIL_RECORDS_OUR_OUTCOMES: [Outcome] extends [AuditOutcome] ? true : false = true;
void TRAIL_RECORDS_OUR_OUTCOMES;

/** What every tool needs, handed in by `createServer` (no module-level state). */
export interface ToolDeps {
  pingone: PingOneApi;
  audit: AuditSink;
  /** True when PingOne is the embedded emulator: said in every result. */
  sandbox: boolean;
  /** Deadline of one tool call, all PingOne requests, retries and waits (for a turn included). */
  callTimeoutMs: number;
  /** The machine: OS account and host. Who is accountable comes from `operatorOf`. */
  actor: Pick<AuditActor, 'osUser' | 'host'>;
  /** Who is accountable for a call: over HTTP from its verified token (through the request context); on stdio one unverified operator. */
  operatorOf(ctx: ServerContext): Operator;
  /** The OAuth scopes that allow reads and writes (HTTP with OAuth). */
  scopes: ScopeNames;
  logger: Logger;
  /** Calls in flight; a shutdown that stops waiting cancels them. */
  inFlight: InFlightCalls;
  /** How many calls run at once and how many wait; shared by every connection of the process. */
  gate: CallGate;
  guards: Guards;
  /** Shared by every connection of the process, so the limit holds per server. */
  writeLimiter: WriteLimiter;
  confirmation: ConfirmationGate;
}

/** How a tool call that did not fail ended. `details` are merged into structuredContent. */
export interface Ended {
  outcome: SuccessOutcome;
  summary: string;
  /** What the audit records as the call's target. */
  target: AuditTarget;
  details?: Record<string, unknown>;
}

/** What a call is about, once known: the audit target, and the display details every result shows. */
export interface Subject {
  target: AuditTarget;
  details: Record<string, unknown>;
}

/** A tool body either ends or asks the person first (the call is then retried by the client). */
export type BodyResult = Ended | InputRequiredResult;

/** A failure that happened once the body knew its target: the audit records that target. */
export class TargetedFailure extends Error {
  constructor(
    readonly failure: unknown,
    readonly subject: Subject,
  ) {
    super('failure with target');
  }
}

/**
 * What a tool body works with: its audit id (also PingOne's external
 * transaction id), its deadline, the MCP side for asking the person, and the
 * audit's intent record. Bodies return values; the only thing kept here is the
 * last PingOne answer, for the outcome record.
 */
export class Call {
  readonly auditId: string;
  readonly scope: CallScope;
  private lastPingOne: AuditPingOne | undefined;
  private intentRecorded = false;
  private readonly startedAt = performance.now();
  /** Who is accountable for this call, decided once when it starts. */
  readonly operator: Operator;

  constructor(
    readonly deps: ToolDeps,
    readonly tool: ToolName,
    /** The MCP side of the call, for asking the person. */
    readonly mcp: { server: McpServer; ctx: ServerContext },
    readonly client: string | undefined,
    readonly reason: string | undefined,
    scope: CallScope,
  ) {
    this.auditId = scope.transactionId;
    this.scope = scope;
    this.operator = deps.operatorOf(mcp.ctx);
  }

  /** Unwraps a PingOne reply, keeping its status and correlation id for the audit. */
  observe<T>(reply: Reply<T>): T {
    this.lastPingOne = { status: reply.status, ...(reply.correlationId ? { correlationId: reply.correlationId } : {}) };
    return reply.data;
  }

  /** Runs the rest of a body whose subject is known: a failure in it is recorded against that target and shows those details. */
  async within<T>(subject: Subject, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (failure) {
      throw failure instanceof TargetedFailure ? failure : new TargetedFailure(failure, subject);
    }
  }

  /** The audit target for this environment plus what the body identified. */
  target(parts: Omit<AuditTarget, 'environmentId'>): AuditTarget {
    return { environmentId: this.deps.pingone.environmentId, ...parts };
  }

  /**
   * Records the intent durably before a write. Without that record the write
   * must not happen: the audit trail is fail-closed.
   */
  async recordIntent(target: AuditTarget, write?: string): Promise<void> {
    try {
      await this.deps.audit.append({ ...this.entry('intent', target), ...(write === undefined ? {} : { write }) });
    } catch (error) {
      // Three sentences, the problem once, in the trail's own words.
      throw new ToolError('AUDIT_UNAVAILABLE', `Refused: nothing was sent to PingOne. ${asSentence(problemOf(error))} An administrator must fix the audit log (PINGONE_MCP_AUDIT_LOG) before writes can resume.`);
    }
    this.intentRecorded = true;
  }

  /**
   * Records, durably, that a question naming `target` goes to a person: the call
   * ends there until an answer comes back, perhaps never, and nothing is read without a record.
   */
  async recordQuestion(target: AuditTarget): Promise<void> {
    try {
      await this.deps.audit.append(this.entry('asked', target));
    } catch (error) {
      throw new ToolError('AUDIT_UNAVAILABLE', `Refused: nothing was sent to PingOne, and no one was asked to confirm. ${asSentence(problemOf(error))} An administrator must fix the audit log (PINGONE_MCP_AUDIT_LOG).`);
    }
  }

  get wroteOrMayHave(): boolean {
    return this.intentRecorded;
  }

  get lastPingOneAudit(): AuditPingOne | undefined {
    return this.lastPingOne;
  }

  get durationMs(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  entry(phase: AuditPhase, target: AuditTarget): AuditEntry {
    return {
      auditId: this.auditId,
      phase,
      tool: this.tool,
      target,
      ...(this.reason === undefined ? {} : { reason: this.reason }),
      actor: auditActor(this.deps.actor, this.operator, this.client),
      ...(phase === 'outcome' ? { durationMs: this.durationMs } : {}),
      ...(this.deps.sandbox ? { sandbox: true as const } : {}),
    };
  }
}

/**
 * Who acted, as the trail records it. A verified operator is recorded by
 * issuer and subject, with the display name masked when it is an email; an
 * unverified one (stdio) by the configured name, if any.
 */
export function auditActor(machine: Pick<AuditActor, 'osUser' | 'host'>, operator: Operator, client: string | undefined): AuditActor {
  const who: Pick<AuditActor, 'operator' | 'verified'> = operator.verified
    ? { operator: maskIfPersonal(operator.displayName), verified: { issuer: operator.issuer, subject: operator.subject } }
    : operator.displayName === undefined
      ? {}
      : { operator: operator.displayName };
  return { ...(client ? { client } : {}), osUser: machine.osUser, host: machine.host, ...who };
}

/** A clause as a sentence of its own: capitalised, with one full stop. */
function asSentence(clause: string): string {
  return `${capitalize(clause)}.`;
}

/** An error's message as a clause: safe text, no trailing full stop (the sentence around it has one). */
export function problemOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return safeText(message, 300).replace(/[.\s]+$/, '');
}
