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
import type { Guards } from '../config.js';
import type { InFlightCalls } from '../lifecycle.js';
import type { Logger } from '../logger.js';
import type { PingOneApi, Reply } from '../pingone/client.js';
import { isPingOneFailure } from '../pingone/errors.js';
import { createCallScope, type CallScope } from '../pingone/http.js';
import type { ConfirmationGate } from './confirm.js';
import { ToolError } from './errors.js';
import { auditFailure, explainFailure } from './failure.js';
import type { WriteRateLimiter } from './guards.js';
import type { ToolName } from '../toolNames.js';
import type { DeviceSummary, ErrorSummary, ToolOutput, UserSummary } from './output.js';

/** What every tool needs, handed in by `createServer` (no module-level state). */
export interface ToolDeps {
  pingone: PingOneApi;
  audit: AuditSink;
  /** True when PingOne is the embedded emulator: said in every result. */
  sandbox: boolean;
  /** Deadline of one tool call, all PingOne requests, retries and waits included. */
  callTimeoutMs: number;
  actor: Omit<AuditActor, 'client'>;
  logger: Logger;
  /** Calls in flight; its signal cancels them all when a shutdown stops waiting. */
  inFlight: InFlightCalls;
  guards: Guards;
  /** Shared by every connection of the process, so the limit holds per server. */
  writeLimiter: WriteRateLimiter;
  confirmation: ConfirmationGate;
}

/** How a tool call that did not fail ended; `details` are merged into structuredContent. */
export interface Completed {
  outcome: 'unlocked' | 'not_locked' | 'unblocked' | 'not_blocked' | 'found' | 'listed' | 'dry_run';
  summary: string;
  details?: Record<string, unknown>;
}

/** A tool body either completes or asks the person first (the call is then retried by the client). */
export type BodyResult = Completed | InputRequiredResult;

/**
 * One tool call's bookkeeping: its audit id (also PingOne's external
 * transaction id), its deadline, what it learned about the target, and the
 * intent/outcome records.
 */
export class ToolCall {
  readonly auditId: string;
  readonly scope: CallScope;
  user: UserSummary | undefined;
  /** The agent's lookup text (emails masked), recorded when it resolves to no single user. */
  lookup: string | undefined;
  device: DeviceSummary | undefined;
  private lastPingOne: AuditPingOne | undefined;
  private intentRecorded = false;
  private readonly startedAt = performance.now();

  constructor(
    readonly deps: ToolDeps,
    readonly tool: ToolName,
    /** The MCP side of the call, for asking the person. */
    readonly mcp: { server: McpServer; ctx: ServerContext },
    private readonly client: string | undefined,
    private readonly reason: string | undefined,
    signal: AbortSignal,
  ) {
    // A call that resumes after the person answered keeps the audit id it was asked under.
    this.auditId = deps.confirmation.resumedAuditId(mcp.ctx) ?? randomUUID();
    this.scope = createCallScope({ transactionId: this.auditId, signal, timeoutMs: deps.callTimeoutMs });
  }

  /** Unwraps a PingOne reply, keeping its status and correlation id for the audit. */
  observe<T>(reply: Reply<T>): T {
    this.lastPingOne = { status: reply.status, ...(reply.correlationId ? { correlationId: reply.correlationId } : {}) };
    return reply.data;
  }

  /**
   * Records the intent durably before a write. Without that record the write
   * must not happen: the audit trail is fail-closed.
   */
  async recordIntent(): Promise<void> {
    try {
      await this.deps.audit.append(this.entry('intent'));
    } catch (error) {
      throw new ToolError('AUDIT_UNAVAILABLE', `Refused: the audit trail cannot record this action, so nothing was sent to PingOne. ${messageOf(error)} An administrator must fix the audit log (PINGONE_MCP_AUDIT_LOG) before writes can resume.`);
    }
    this.intentRecorded = true;
  }

  get correlationId(): string | undefined {
    return this.lastPingOne?.correlationId;
  }

  /** Appends the outcome record; returns a warning sentence when it could not be written. */
  async recordOutcome(outcome: AuditOutcome, pingone: AuditPingOne | undefined): Promise<string | undefined> {
    try {
      await this.deps.audit.append({ ...this.entry('outcome'), outcome, ...(pingone ? { pingone } : {}) });
      return undefined;
    } catch (error) {
      this.deps.logger.error({ auditId: this.auditId, tool: this.tool, outcome, problem: messageOf(error) }, 'audit outcome record not written');
      return `Warning: the audit outcome record could not be written (${messageOf(error)}).`;
    }
  }

  get wroteOrMayHave(): boolean {
    return this.intentRecorded;
  }

  get lastPingOneAudit(): AuditPingOne | undefined {
    return this.lastPingOne;
  }

  private entry(phase: 'intent' | 'outcome'): AuditEntry {
    const target: AuditTarget = {
      environmentId: this.deps.pingone.environmentId,
      ...(this.user
        ? { userId: this.user.id, ...(this.user.username ? { username: this.user.username } : {}) }
        : this.lookup === undefined
          ? {}
          : { lookup: this.lookup }),
      ...(this.device ? { deviceId: this.device.id, deviceType: this.device.type } : {}),
    };
    return {
      auditId: this.auditId,
      phase,
      tool: this.tool,
      target,
      ...(this.reason === undefined ? {} : { reason: this.reason }),
      actor: { ...this.deps.actor, ...(this.client ? { client: this.client } : {}) },
      ...(phase === 'outcome' ? { durationMs: Math.round(performance.now() - this.startedAt) } : {}),
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

/**
 * Runs a tool body and turns whatever happens into a result the model can act
 * on, with exactly one outcome record. Failures are results (`isError`), never
 * exceptions: the text is the only thing the model has, so it says what to do.
 * A body that asks the person first returns the question and records nothing:
 * the call is recorded when it ends, on the client's retry.
 */
export function runTool(deps: ToolDeps, init: RunInit, body: (call: ToolCall) => Promise<BodyResult>): Promise<CallToolResult | InputRequiredResult> {
  return deps.inFlight.track(runTracked(deps, init, body));
}

async function runTracked(deps: ToolDeps, init: RunInit, body: (call: ToolCall) => Promise<BodyResult>): Promise<CallToolResult | InputRequiredResult> {
  // The call stops when the client cancels it or a shutdown gives up waiting. Joined by hand, with the
  // listeners removed afterwards: AbortSignal.any on Node 20 keeps every call alive on the long-lived signal.
  const stop = new AbortController();
  const sources = [init.ctx.mcpReq.signal, deps.inFlight.signal];
  const abort = () => stop.abort();
  for (const source of sources) {
    if (source.aborted) stop.abort();
    else source.addEventListener('abort', abort, { once: true });
  }
  try {
    return await runCall(deps, init, body, stop.signal);
  } finally {
    for (const source of sources) source.removeEventListener('abort', abort);
  }
}

async function runCall(
  deps: ToolDeps,
  init: RunInit,
  body: (call: ToolCall) => Promise<BodyResult>,
  signal: AbortSignal,
): Promise<CallToolResult | InputRequiredResult> {
  const call = new ToolCall(deps, init.tool, { server: init.server, ctx: init.ctx }, describeClient(init.server, init.ctx), init.reason, signal);
  let outcome: ToolOutput['outcome'];
  let summary: string;
  let details: Record<string, unknown> = {};
  let error: ErrorSummary | undefined;
  let pingone: AuditPingOne | undefined;
  try {
    const result = await body(call);
    if (isInputRequiredResult(result)) return result;
    ({ outcome, summary } = result);
    details = result.details ?? {};
    pingone = call.lastPingOneAudit;
  } catch (thrown) {
    pingone = auditFailure(thrown) ?? call.lastPingOneAudit;
    if (thrown instanceof ToolError) {
      outcome = thrown.outcome;
      summary = thrown.message;
      if (thrown.details.candidates) details = { candidates: thrown.details.candidates };
      error = { code: thrown.code, responsible: thrown.responsible, ...optionalRetry(thrown.details.retryAfterSeconds) };
    } else if (isPingOneFailure(thrown)) {
      outcome = thrown.kind === 'cancelled' && deps.inFlight.signal.aborted ? 'interrupted' : 'failed';
      ({ text: summary, error } = explainFailure(thrown, deps.pingone.environmentId, call.wroteOrMayHave));
    } else {
      outcome = 'failed';
      deps.logger.error({ err: thrown, auditId: call.auditId, tool: init.tool }, 'unexpected error in tool call');
      summary = `An internal error stopped the call (audit id ${call.auditId}); the server log has the details.${call.wroteOrMayHave ? ' The change may or may not have been applied; calling the tool again is safe.' : ' Nothing was changed.'}`;
      error = { code: 'INTERNAL_ERROR', responsible: 'admin' };
    }
  }
  const warning = await call.recordOutcome(outcome, pingone);
  const correlationId = pingone?.correlationId;
  const text = [deps.sandbox ? `[sandbox] ${summary}` : summary, warning].filter(Boolean).join(' ');
  const structured: ToolOutput = {
    outcome,
    summary: text,
    ...(call.user ? { user: call.user } : {}),
    ...(call.device ? { device: call.device } : {}),
    ...details,
    ...(error ? { error } : {}),
    ...(correlationId ? { correlationId } : {}),
    auditId: call.auditId,
    sandbox: deps.sandbox,
  };
  return {
    content: [{ type: 'text', text }],
    structuredContent: structured,
    ...(error === undefined ? {} : { isError: true }),
  };
}

function optionalRetry(seconds: number | undefined): { retryAfterSeconds?: number } {
  return seconds === undefined ? {} : { retryAfterSeconds: seconds };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const ClientInfoSchema = z.object({ name: z.string(), version: z.string().optional() });

/**
 * The MCP client as it named itself (`claude-code/2.1.0`): from `initialize`
 * on 2025-era connections, from the per-request envelope on 2026-07-28.
 * Client-declared, so it is recorded as a claim, cleaned of control characters.
 */
export function describeClient(server: McpServer, ctx: ServerContext): string | undefined {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const parsed = ClientInfoSchema.safeParse(server.server.getClientVersion() ?? envelope?.[CLIENT_INFO_META_KEY]);
  if (!parsed.success) return undefined;
  const { name, version } = parsed.data;
  return (version ? `${name}/${version}` : name).replace(/[\u0000-\u001f\u007f-\u009f]/g, '').slice(0, 100);
}
