import type { ApprovedAction } from './confirm.js';
import { ToolError } from './errors.js';
import type { BodyResult, Completed, ToolCall } from './runtime.js';

export interface WriteRequest {
  /** What the person approves; bound into the confirmation. */
  action: ApprovedAction;
  /** The question put to the person: "Unlock jdoe (Jane Doe, population …)? Reason: INC-1". */
  question: string;
  /** The change in a phrase, for a dry run: "unlock jdoe (Jane Doe)". */
  change: string;
  dryRun: boolean;
  /** Sends the write and says how it went. Runs only after every guard and the intent record. */
  perform: () => Promise<Completed>;
}

/**
 * The one path every write takes once its target passed the target guards and
 * needs changing: dry run, rate limit, the person's confirmation, the durable
 * intent, then the write.
 */
export async function guardedWrite(call: ToolCall, request: WriteRequest): Promise<BodyResult> {
  const { deps } = call;
  deps.writeLimiter.check();
  if (request.dryRun) {
    // Everything the real call would check before asking PingOne, so that "allowed" means allowed.
    deps.confirmation.assertCanConfirm(call.mcp);
    const audit = deps.audit.status();
    if (audit.state === 'broken') throw new ToolError('AUDIT_UNAVAILABLE', `The write would be refused: the audit trail cannot record it. ${audit.reason}`);
    const asks = deps.confirmation.wouldAsk(call.mcp.server, call.mcp.ctx) ? ' A person would be asked to confirm first.' : '';
    return { outcome: 'dry_run', summary: `Dry run: this would ${request.change}; every guard of this server allows it.${asks} Nothing was changed.` };
  }
  const decision = await deps.confirmation.decide(call.mcp, call.auditId, request.action, request.question);
  if (decision.kind === 'ask') return decision.result;
  await call.recordIntent();
  // Counted once the intent is durable: a write refused for its audit record was never sent.
  deps.writeLimiter.take();
  return request.perform();
}

/** The agent's reason as the person sees it in the question: quoted, so it reads as what the agent wrote. */
export function givenReason(reason: string | undefined): string {
  return reason ? ` Reason given: ${JSON.stringify(reason)}` : '';
}
