import { nodeCrypto } from '../lazyCrypto.js';
import {
  CLIENT_INFO_META_KEY,
  isInputRequiredResult,
  type CallToolResult,
  type InputRequiredResult,
  type McpServer,
  type ServerContext,
} from '@modelcontextprotocol/server';
import * as z from 'zod';
import type { AuditPingOne, AuditTarget } from '../audit/record.js';
import { operatorKey } from '../auth/operator.js';
import type { Outcome, SuccessOutcome } from '../outcomes.js';
import { isPingOneFailure } from '../pingone/errors.js';
import { createCallScope, deadlinePassed } from '../pingone/http.js';
import { safeText } from '../text/untrusted.js';
import { TOOL_ACCESS, type ToolName } from '../toolNames.js';
import { Call, problemOf, TargetedFailure, type BodyResult, type Ended, type ToolDeps } from './call.js';
import { ToolError } from './errors.js';
import { auditFailure, explainFailure } from './failure.js';
import type { ErrorSummary, ToolOutput } from './output.js';

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
  // A call that resumes after the person answered keeps the audit id it was asked under.
  const auditId = deps.confirmation.resumedAuditId(init.ctx, init.tool) ?? nodeCrypto().randomUUID();
  // The call stops when the client cancels it, a shutdown gives up waiting, or its deadline passes: one
  // signal for all three. Both sources are the call's own (the request's, and the one InFlightCalls made
  // for it): no listener on a shared signal. The deadline starts now: waiting for a turn counts toward it.
  const scope = createCallScope({ transactionId: auditId, cancelledBy: [init.ctx.mcpReq.signal, shutdown], timeoutMs: deps.callTimeoutMs });
  try {
    const call = new Call(deps, init.tool, { server: init.server, ctx: init.ctx }, describeClient(init.server, init.ctx.mcpReq.envelope as Record<string, unknown> | undefined), init.reason, scope);
    // A verified operator's calls also count against their own ceiling; everyone else shares the total.
    const turn = await deps.gate.enter(scope.signal, call.operator.verified ? operatorKey(call.operator) : undefined);
    if (turn.kind !== 'admitted') return finish(deps, call, refusedTurn(deps, turn.kind === 'full' || deadlinePassed(scope) ? 'busy' : 'stopped', call.target({})));
    try {
      return await runBody(deps, call, body);
    } finally {
      turn.release();
    }
  } finally {
    scope.end();
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
 * Writes the one outcome record and answers. A call whose record cannot be
 * written, and that left no intent record either, is withheld: nobody reads
 * user data without a record.
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
    // A write tool that wrote nothing (not locked, dry run, denied) has read the user all the same: with no
    // intent record either, the call would leave no trace, so it is withheld like a lookup.
    const read = TOOL_ACCESS[call.tool] === 'read';
    if (read || !call.wroteOrMayHave) {
      // The trail's own refusal names no user: it stays, as the clearer sentence.
      if (error?.code !== 'AUDIT_UNAVAILABLE') {
        const what = read ? 'this lookup' : 'this call, so nothing was sent to PingOne';
        summary = `The result is withheld: the audit trail cannot record ${what} (${problemOf(problem)}), and nothing is read without a record. An administrator must fix the audit log (PINGONE_MCP_AUDIT_LOG).`;
      }
      outcome = 'failed';
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

const ClientInfoSchema = z.object({ name: z.string(), version: z.string().optional() });

/**
 * The MCP client as it named itself (`claude-code/2.1.0`): from `initialize`
 * on 2025-era connections, from the per-request envelope (a request's `_meta`)
 * on 2026-07-28. The tool runtime and the scope check (scopes.ts) both record it.
 */
export function describeClient(server: McpServer, envelope: Record<string, unknown> | undefined): string | undefined {
  const named = server.server.getClientVersion();
  if (named === undefined) return describeClientInfo(envelope?.[CLIENT_INFO_META_KEY]);
  // A connection names itself once, at initialize: its calls share that one object, described once.
  // (A request's envelope is a new object every time: nothing to remember.)
  if (!described.has(named)) described.set(named, describeClientInfo(named));
  return described.get(named);
}

/** A client's `clientInfo` as the trail records it: client-declared, so recorded as a claim, made safe text. */
function describeClientInfo(info: unknown): string | undefined {
  const parsed = ClientInfoSchema.safeParse(info);
  return parsed.success ? safeText(parsed.data.version ? `${parsed.data.name}/${parsed.data.version}` : parsed.data.name, 100) : undefined;
}

/** Connections' client info objects already described (gone with their connection). */
const described = new WeakMap<object, string | undefined>();
