import { operatorKey, type Operator, type VerifiedOperator } from '../auth/operator.js';
import { identityKey } from '../pingone/identity.js';
import type { WriteAction, WriteAnswer, WriteKind, WrittenResource } from '../pingone/client.js';
import type { UserRecord } from '../pingone/records.js';
import type { ApprovedAction } from './confirm.js';
import { deny, ToolError, type Denial } from './errors.js';
import { rateDenial, targetDenial } from './guards.js';
import type { BodyResult, Call, Ended, Subject } from './call.js';

export interface WriteRequest {
  /** What the person approves; bound into the confirmation, with every write the call may send. */
  action: ApprovedAction & { writes: readonly WriteKind[] };
  /** The user, and device when there is one: audit target and display details. */
  subject: Subject;
  /** The question put to the person, built from fixed, safe fields with the IDs. */
  question: string;
  /** The change in a phrase, for a dry run: "unlock jdoe (“Jane Doe”)". */
  change: string;
  dryRun: boolean;
  /** Sends the writes through `send` and says how it went. Runs only after every guard and the confirmation. */
  perform: (send: SendWrite) => Promise<Ended>;
}

/**
 * Sends one of the approved writes, after its own durable intent record naming
 * it: the only way a tool body reaches PingOne's writes.
 */
export type SendWrite = <K extends WriteKind>(action: WriteAction<K>) => Promise<WriteAnswer<WrittenResource<K>>>;

/** Ends the call as `denied` when the guards forbid writing this user (checked before anything else). */
export function refuseUnwritable(call: Call, user: UserRecord): void {
  const denial = selfChangeDenial(call.operator, user) ?? targetDenial(call.deps.guards, user);
  if (denial) throw deny(denial);
}

/**
 * No one changes their own account: the verified operator's subject is
 * compared with PingOne's raw user ID (the sign-in an operator uses is often
 * the PingOne user the helpdesk looks after), and their email and username
 * claims with the target's (see isOwnAccount). An unverified operator names nobody.
 */
function selfChangeDenial(operator: Operator, user: UserRecord): Denial | undefined {
  if (!operator.verified || !isOwnAccount(operator, user)) return undefined;
  return {
    code: 'SELF_CHANGE',
    message: 'Refused: this is your own account, and no one changes their own account through this server. Ask another helpdesk operator to handle it. Nothing was changed.',
  };
}

/**
 * The subject is PingOne's user ID only when the issuer is the managed environment; with another issuer (a
 * workforce environment, any OIDC provider) the same person's account here has another ID. Their email or
 * username claim naming the target's username or email (NFC, case-insensitive) is their own account too: a
 * false match only refuses, never allows.
 */
function isOwnAccount(operator: VerifiedOperator, user: UserRecord): boolean {
  if (operator.subject === user.identity.id) return true;
  const targetKeys = new Set([user.identity.username, user.identity.email].filter((value): value is string => value !== undefined && value !== '').map(identityKey));
  return (operator.handles ?? []).some((handle) => targetKeys.has(identityKey(handle)));
}

/**
 * The one path every write takes once its target passed the target guards and
 * needs changing: dry run, the write limit (a slot reserved atomically, given
 * back unless the write is sent), the person's confirmation, the durable
 * intent, then the write.
 */
export async function guardedWrite(call: Call, request: WriteRequest): Promise<BodyResult> {
  const { deps } = call;
  const operator = operatorKey(call.operator);
  const reserved = await deps.writeLimiter.reserve(operator);
  if (!reserved.granted) throw deny(rateDenial(reserved, deps.guards));
  let sent = false;
  try {
    if (request.dryRun) return dryRun(call, request);
    // Known broken: no person is shown the account and asked to approve a write that would be refused.
    assertRecordable(call, 'Refused: nothing was sent to PingOne, and no one was asked to confirm. The audit trail cannot record the write.');
    const decision = await deps.confirmation.decide(call.mcp, call.auditId, operator, request.action, request.question);
    if (decision.kind === 'ask') {
      await call.recordQuestion(request.subject.target);
      return decision.result;
    }
    // One slot of the write limit and one question cover every write the call sends.
    const send: SendWrite = async (action) => {
      if (!request.action.writes.includes(action.kind)) throw new Error(`the write ${action.kind} was not among those approved`);
      await call.recordIntent(request.subject.target, action.kind);
      sent = true;
      const answer = await deps.pingone.write(action, call.scope);
      return call.observe({ data: answer, status: answer.status, correlationId: answer.correlationId });
    };
    return await request.perform(send);
  } finally {
    if (!sent) await reserved.reservation.release();
  }
}

/** Everything the real call would check before asking PingOne, so that "allowed" means allowed. */
function dryRun(call: Call, request: WriteRequest): Ended {
  const { deps } = call;
  deps.confirmation.assertCanConfirm(call.mcp);
  assertRecordable(call, 'The write would be refused: the audit trail cannot record it.');
  const asks = deps.confirmation.wouldAsk(call.mcp.server, call.mcp.ctx) ? ' A person would be asked to confirm first.' : '';
  return { outcome: 'dry_run', summary: `Dry run: this would ${request.change}; every guard of this server allows it.${asks} Nothing was changed.`, ...request.subject };
}

/** Throws AUDIT_UNAVAILABLE, with the trail's own reason, when the trail is known to refuse records. */
function assertRecordable(call: Call, refusal: string): void {
  const audit = call.deps.audit.status();
  if (audit.state === 'broken') throw new ToolError('AUDIT_UNAVAILABLE', `${refusal} ${audit.reason}`);
}

/** The agent's reason as the person sees it in the question: quoted, so it reads as what the agent wrote. */
export function givenReason(reason: string | undefined): string {
  return reason ? ` Reason given: ${JSON.stringify(reason)}` : '';
}
