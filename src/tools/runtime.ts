import { randomUUID } from 'node:crypto';
import {
  CLIENT_INFO_META_KEY,
  isInputRequiredResult,
  type CallToolResult,
  type InputRequiredResult,
  type McpServer,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { AuditActor, AuditEntry, AuditOutcome, AuditPingOne, AuditSink, AuditTarget } from '../audit/record.js';
import type { Operator } from '../auth/operator.js';
import type { Guards } from '../config.js';
import type { CallGate, InFlightCalls } from '../lifecycle.js';
import type { Logger } from '../logger.js';
import type { Outcome, SuccessOutcome } from '../outcomes.js';
import type { PingOneApi, Reply } from '../pingone/client.js';
import { isPingOneFailure } from '../pingone/errors.js';
import { createCallScope, type CallScope } from '../pingone/http.js';
import type { WriteLimiter } from '../store.js';
import { safeText } from '../text/untrusted.js';
import { TOOL_ACCESS, type ToolName } from '../toolNames.js';
import type { ConfirmationGate } from './confirm.js';
import { ToolError } from './errors.js';
import { auditFailure, explainFailure } from './failure.js';
import type { ErrorSummary, ToolOutput } from './output.js';

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
  actor: Omit<AuditActor, 'client'>;
  /** Who is accountable for the calls of this process (stdio: one unverified operator). */
  operator: Operator;
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
class TargetedFailure extends Error {
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
  async recordIntent(target: AuditTarget): Promise<void> {
    try {
      await this.deps.audit.append(this.entry('intent', target));
    } catch (error) {
      throw new ToolError('AUDIT_UNAVAILABLE', `Refused, and nothing was sent to PingOne: the audit trail cannot record this action (${problemOf(error)}). An administrator must fix the audit log (PINGONE_MCP_AUDIT_LOG) before writes can resume.`);
    }
    this.intentRecorded = true;
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

  entry(phase: 'intent' | 'outcome', target: AuditTarget): AuditEntry {
    return {
      auditId: this.auditId,
      phase,
      tool: this.tool,
      target,
      ...(this.reason === undefined ? {} : { reason: this.reason }),
      actor: { ...this.deps.actor, ...(this.client ? { client: this.client } : {}) },
      ...(phase === 'outcome' ? { durationMs: this.durationMs } : {}),
      ...(this.deps.sandbox ? { sandbox: true as const } : {}),
    };
  }
}

export interface RunInit {
  tool: ToolName;
  server: McpServer;
  ctx: ServerContext;
  reason: string | undefined;
}

type Body = (call: Call) => Promise<BodyResult>;

/**
 * Runs a tool body and turns whatever happens into a result the model can act
 * on, with exactly one outcome record. Failures are results (`isError`), never
 * exceptions: the text is the only thing the model has, so it says what to do.
 * A body that asks the person first returns the question and records nothing:
 * the call is recorded when it ends, on the client's retry.
 */
export function runTool(deps: ToolDeps, init: RunInit, body: Body): Promise<CallToolResult | InputRequiredResult> {
  return deps.inFlight.track((shutdown) => runTracked(deps, init, body, shutdown));
}

async function runTracked(deps: ToolDeps, init: RunInit, body: Body, shutdown: AbortSignal): Promise<CallToolResult | InputRequiredResult> {
  // The call stops when the client cancels it or a shutdown gives up waiting. Both signals are the
  // call's own (the request's, and the one InFlightCalls made for it): no listener on a shared signal.
  const stop = new AbortController();
  const sources = [init.ctx.mcpReq.signal, shutdown];
  const abort = () => stop.abort();
  for (const source of sources) {
    if (source.aborted) stop.abort();
    else source.addEventListener('abort', abort, { once: true });
  }
  try {
    // A call that resumes after the person answered keeps the audit id it was asked under.
    const auditId = deps.confirmation.resumedAuditId(init.ctx) ?? randomUUID();
    // The deadline starts now: waiting for a turn counts toward it.
    const scope = createCallScope({ transactionId: auditId, signal: stop.signal, timeoutMs: deps.callTimeoutMs });
    const call = new Call(deps, init.tool, { server: init.server, ctx: init.ctx }, describeClient(init.server, init.ctx), init.reason, scope);
    const turn = await waitForTurn(deps, scope);
    if (turn.kind !== 'admitted') return finish(deps, call, refusedTurn(deps, turn.kind === 'full' || !scope.signal.aborted ? 'busy' : 'stopped', call.target({})));
    try {
      return await runBody(deps, call, body);
    } finally {
      turn.release();
    }
  } finally {
    for (const source of sources) source.removeEventListener('abort', abort);
  }
}

async function waitForTurn(deps: ToolDeps, scope: CallScope) {
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(), Math.max(0, scope.deadline - Date.now()));
  const onStop = () => timer.abort();
  scope.signal.addEventListener('abort', onStop, { once: true });
  try {
    return await deps.gate.enter(timer.signal);
  } finally {
    clearTimeout(timeout);
    scope.signal.removeEventListener('abort', onStop);
  }
}

/** The end of a call that never got a turn: the queue was full or the deadline passed (busy), or it was cancelled. */
function refusedTurn(deps: ToolDeps, why: 'busy' | 'stopped', target: AuditTarget): Failed {
  const { maxConcurrent, maxQueued } = deps.gate.limits;
  const summary =
    why === 'busy'
      ? `Refused: this server is busy, running ${maxConcurrent} calls with up to ${maxQueued} more waiting (PINGONE_MCP_MAX_CONCURRENT_CALLS, PINGONE_MCP_MAX_QUEUED_CALLS). Nothing was sent to PingOne; wait a few seconds and call again, one call at a time.`
      : 'The call was cancelled while it waited for a turn. Nothing was sent to PingOne.';
  return { kind: 'failed', outcome: deps.inFlight.cancelled ? 'interrupted' : 'failed', summary, target, error: { code: why === 'busy' ? 'TOO_BUSY' : 'CANCELLED', responsible: 'agent' } };
}

interface Failed {
  kind: 'failed';
  outcome: Exclude<Outcome, SuccessOutcome>;
  summary: string;
  target: AuditTarget;
  error: ErrorSummary;
  details?: Record<string, unknown>;
  pingone?: AuditPingOne | undefined;
}

async function runBody(deps: ToolDeps, call: Call, body: Body): Promise<CallToolResult | InputRequiredResult> {
  let ended: (Ended & { kind?: undefined }) | Failed;
  try {
    const result = await body(call);
    if (isInputRequiredResult(result)) return result;
    ended = result;
  } catch (thrown) {
    ended = failed(deps, call, thrown);
  }
  return finish(deps, call, ended);
}

/** Whatever a body threw, as the end of the call. */
function failed(deps: ToolDeps, call: Call, thrown: unknown): Failed {
  const subject = thrown instanceof TargetedFailure ? thrown.subject : { target: call.target({}), details: {} };
  const { target, details } = subject;
  const cause = thrown instanceof TargetedFailure ? thrown.failure : thrown;
  if (cause instanceof ToolError) {
    return {
      kind: 'failed',
      outcome: cause.outcome,
      summary: cause.message,
      target: cause.target ?? target,
      error: { code: cause.code, responsible: cause.responsible, ...(cause.details.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: cause.details.retryAfterSeconds }) },
      details: { ...details, ...(cause.details.candidates ? { candidates: cause.details.candidates } : {}) },
      pingone: auditFailure(cause.cause) ?? call.lastPingOneAudit,
    };
  }
  if (isPingOneFailure(cause)) {
    const { text, error } = explainFailure(cause, deps.pingone.environmentId, call.wroteOrMayHave);
    return { kind: 'failed', outcome: cause.kind === 'cancelled' && deps.inFlight.cancelled ? 'interrupted' : 'failed', summary: text, target, details, error, pingone: auditFailure(cause) };
  }
  deps.logger.error({ err: cause, auditId: call.auditId, tool: call.tool }, 'unexpected error in tool call');
  const changed = call.wroteOrMayHave ? ' The change may or may not have been applied; calling the tool again is safe.' : ' Nothing was changed.';
  return {
    kind: 'failed',
    outcome: 'failed',
    summary: `An internal error stopped the call (audit id ${call.auditId}); the server log has the details.${changed}`,
    target,
    details,
    error: { code: 'INTERNAL_ERROR', responsible: 'admin' },
    pingone: call.lastPingOneAudit,
  };
}

/**
 * Writes the one outcome record and answers. A read whose record cannot be
 * written is withheld: nobody reads user data without a record.
 */
async function finish(deps: ToolDeps, call: Call, ended: (Ended & { kind?: undefined }) | Failed): Promise<CallToolResult> {
  const pingone = ended.kind === 'failed' ? ended.pingone : call.lastPingOneAudit;
  let { outcome, summary } = ended;
  let error = ended.kind === 'failed' ? ended.error : undefined;
  let details = ended.details ?? {};
  try {
    await deps.audit.append({ ...call.entry('outcome', ended.target), outcome, ...(pingone ? { pingone } : {}) });
  } catch (problem) {
    deps.logger.error({ auditId: call.auditId, tool: call.tool, outcome, problem: problemOf(problem) }, 'audit outcome record not written');
    if (TOOL_ACCESS[call.tool] === 'read') {
      outcome = 'failed';
      summary = `The result is withheld: the audit trail cannot record this lookup (${problemOf(problem)}), and nothing is read without a record. An administrator must fix the audit log (PINGONE_MCP_AUDIT_LOG).`;
      error = { code: 'AUDIT_UNAVAILABLE', responsible: 'admin' };
      details = {};
    } else {
      summary = `${summary} Warning: the audit outcome record could not be written (${problemOf(problem)}).`;
    }
  }
  logCall(deps, call, outcome, error, pingone);
  const text = deps.sandbox ? `[sandbox] ${summary}` : summary;
  const correlationId = pingone?.correlationId;
  const structured: ToolOutput = {
    outcome,
    summary: text,
    ...details,
    ...(error ? { error } : {}),
    ...(correlationId ? { correlationId } : {}),
    auditId: call.auditId,
    sandbox: deps.sandbox,
  };
  return { content: [{ type: 'text', text }], structuredContent: structured, ...(error === undefined ? {} : { isError: true }) };
}

/** One line per call for the operator: IDs and codes only, never a name, a secret or personal data. */
function logCall(deps: ToolDeps, call: Call, outcome: Outcome, error: ErrorSummary | undefined, pingone: AuditPingOne | undefined): void {
  const line = {
    auditId: call.auditId,
    tool: call.tool,
    outcome,
    durationMs: call.durationMs,
    ...(error ? { code: error.code } : {}),
    ...(pingone?.status === undefined ? {} : { pingoneStatus: pingone.status }),
    ...(pingone?.correlationId ? { correlationId: pingone.correlationId } : {}),
  };
  if (error) deps.logger.warn(line, 'tool call failed');
  else deps.logger.debug(line, 'tool call');
}

/** An error's message as a clause: safe text, no trailing full stop (the sentence around it has one). */
function problemOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return safeText(message, 300).replace(/[.\s]+$/, '');
}

const ClientInfoSchema = z.object({ name: z.string(), version: z.string().optional() });

/**
 * The MCP client as it named itself (`claude-code/2.1.0`): from `initialize`
 * on 2025-era connections, from the per-request envelope on 2026-07-28.
 * Client-declared, so it is recorded as a claim, made safe text.
 */
export function describeClient(server: McpServer, ctx: ServerContext): string | undefined {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const parsed = ClientInfoSchema.safeParse(server.server.getClientVersion() ?? envelope?.[CLIENT_INFO_META_KEY]);
  if (!parsed.success) return undefined;
  const { name, version } = parsed.data;
  return safeText(version ? `${name}/${version}` : name, 100);
}
