import { nodeCrypto } from '../lazyCrypto.js';
import {
  acceptedContent,
  CLIENT_CAPABILITIES_META_KEY,
  createRequestStateCodec,
  inputRequired,
  inputResponse,
  type ClientCapabilities,
  type InputRequiredResult,
  type McpServer,
  type RequestStateCodec,
  type ServerContext,
} from '@modelcontextprotocol/server';
import * as z from 'zod';
import type { ConfirmMode } from '../config.js';
import type { ConfirmationLedger } from '../store.js';
import { MemoryConfirmationLedger } from '../store/memory.js';
import type { ToolName, WriteToolName } from '../toolNames.js';
import { ToolError } from './errors.js';

/** Exactly what the person approves. A sealed copy travels with the question and must match on the retry. */
export interface ApprovedAction {
  tool: WriteToolName;
  userId: string;
  deviceId?: string;
  reason?: string;
  /** Every PingOne write the call may send, in order (unlock_user may send two): approved together. */
  writes?: readonly string[];
}

interface SealedQuestion {
  auditId: string;
  /** Who was asked about (`operatorKey`: issuer and subject): another operator cannot bring the answer back. */
  operator: string;
  /** This question, once: the ledger spends it on its first answer, whatever the answer. */
  questionId: string;
  action: ApprovedAction;
}

const ANSWER_KEY = 'confirm';
/** How long a question may wait for the person's answer. */
const TTL_SECONDS = 600;
const AnswerSchema = z.object({ confirm: z.boolean().describe('Yes, do it') });

export type Decision = { kind: 'proceed'; how: 'confirmed' | 'not asked' } | { kind: 'ask'; result: InputRequiredResult };

/**
 * Asks the person before a write, where the client can ask (elicitation; the
 * SDK carries the question as `input_required` on 2026-07-28 and as
 * `elicitation/create` on 2025 connections). The question's state comes back
 * through the client, so it is sealed with an HMAC (a key that lives and dies
 * with this process) and bound to the exact action: what was approved is
 * exactly what runs.
 */
export class ConfirmationGate {
  // Made at first use: the codec loads Web Crypto, which no start-up needs.
  private sealer: RequestStateCodec<SealedQuestion> | undefined;

  constructor(
    readonly mode: ConfirmMode,
    private readonly ledger: ConfirmationLedger = new MemoryConfirmationLedger(),
    private readonly key?: Uint8Array,
  ) {}

  private get codec(): RequestStateCodec<SealedQuestion> {
    this.sealer ??= createRequestStateCodec<SealedQuestion>({ key: this.key ?? nodeCrypto().randomBytes(32), ttlSeconds: TTL_SECONDS });
    return this.sealer;
  }

  /** For `ServerOptions.requestState.verify`: rejects state we did not seal, or that expired. */
  verify = (state: string, ctx: ServerContext): Promise<SealedQuestion> => this.codec.verify(state, ctx);

  /**
   * The audit id a question was asked under, when this request is the client's
   * answer to it. Only for the tool it was asked for: a state echoed with
   * another tool's call must not file that call under the question's id.
   */
  resumedAuditId(ctx: ServerContext, tool: ToolName): string | undefined {
    const sealed = ctx.mcpReq.requestState<SealedQuestion>();
    return sealed?.action.tool === tool ? sealed.auditId : undefined;
  }

  /** Throws what `decide` would when a person is required and this client cannot ask one (or cannot be known to). */
  assertCanConfirm(mcp: { server: McpServer; ctx: ServerContext }): void {
    const refusal = this.refusal(askAbility(mcp.server, mcp.ctx));
    if (refusal) throw refusal;
  }

  /** Whether a write by this client would be put to the person first. */
  wouldAsk(server: McpServer, ctx: ServerContext): boolean {
    return this.mode !== 'never' && askAbility(server, ctx) === 'yes';
  }

  /**
   * Never write because the server could not tell: where the client's
   * ability to ask is unknown, `auto` refuses like `always`.
   */
  private refusal(ability: AskAbility): ToolError | undefined {
    if (this.mode === 'never' || ability === 'yes') return undefined;
    if (ability === 'unknown') return unknownAbility();
    return this.mode === 'always' ? unavailable() : undefined;
  }

  /**
   * Proceed, ask, or throw a denial (declined, cancelled, mismatched, or a
   * person is required and this client cannot ask one).
   */
  async decide(mcp: { server: McpServer; ctx: ServerContext }, auditId: string, operator: string, action: ApprovedAction, question: string): Promise<Decision> {
    if (this.mode === 'never') return { kind: 'proceed', how: 'not asked' };
    const ability = askAbility(mcp.server, mcp.ctx);
    const refusal = this.refusal(ability);
    if (refusal) throw refusal;
    if (ability !== 'yes') return { kind: 'proceed', how: 'not asked' };
    const sealed = mcp.ctx.mcpReq.requestState<SealedQuestion>();
    const answer = inputResponse(mcp.ctx.mcpReq.inputResponses, ANSWER_KEY);
    if (sealed === undefined || answer.kind === 'missing') return { kind: 'ask', result: await this.ask(mcp.ctx, auditId, operator, action, question) };
    // Checked before the answer is spent: another operator's replay must not use up the person's question.
    if (sealed.operator !== operator) {
      throw new ToolError('CONFIRMATION_MISMATCH', 'Refused: the confirmation that came back was given to another operator. Nothing was changed; call the tool again to ask the person afresh.');
    }
    // Spent by its first answer, whatever it was: a decline cannot be re-sent as an accept, nor an accept replayed.
    if (!(await this.ledger.spend(sealed.questionId, new Date(Date.now() + TTL_SECONDS * 1000)))) {
      throw new ToolError('CONFIRMATION_MISMATCH', 'Refused: this question was already answered. Nothing was changed; call the tool again to ask the person afresh.');
    }
    if (!sameAction(sealed.action, action)) {
      throw new ToolError('CONFIRMATION_MISMATCH', 'Refused: the confirmation that came back was given for a different action. Nothing was changed; call the tool again to ask the person afresh.');
    }
    if (answer.kind === 'elicit' && answer.action === 'accept') {
      if (acceptedContent(mcp.ctx.mcpReq.inputResponses, ANSWER_KEY, AnswerSchema)?.confirm === true) return { kind: 'proceed', how: 'confirmed' };
      throw new ToolError('NOT_CONFIRMED', 'The person answered without confirming, so nothing was changed.');
    }
    if (answer.kind === 'elicit' && answer.action === 'decline') {
      throw new ToolError('NOT_CONFIRMED', 'The person declined, so nothing was changed. Do not retry unless they ask you to.');
    }
    throw new ToolError('NOT_CONFIRMED', 'The person dismissed the question without answering, so nothing was changed.');
  }

  private async ask(ctx: ServerContext, auditId: string, operator: string, action: ApprovedAction, question: string): Promise<InputRequiredResult> {
    return inputRequired({
      inputRequests: { [ANSWER_KEY]: inputRequired.elicit({ message: question, requestedSchema: AnswerSchema }) },
      requestState: await this.codec.mint({ auditId, operator, questionId: nodeCrypto().randomUUID(), action }, ctx),
    });
  }
}

function unavailable(): ToolError {
  return new ToolError(
    'CONFIRMATION_UNAVAILABLE',
    'Refused: this server requires a person to confirm every write (PINGONE_MCP_CONFIRM=always), and this MCP client cannot ask one (it does not support elicitation). Use a client that can, such as Claude Code, VS Code or Cursor. Nothing was changed.',
  );
}

function unknownAbility(): ToolError {
  return new ToolError(
    'CONFIRMATION_UNAVAILABLE',
    'Refused: this server asks a person to confirm writes where the client can ask (PINGONE_MCP_CONFIRM=auto), and this request did not say whether the MCP client can (it declared no capabilities), so it is treated as one that must. Use a client that declares elicitation, such as Claude Code, VS Code or Cursor. Nothing was changed.',
  );
}

function sameAction(a: ApprovedAction, b: ApprovedAction): boolean {
  return a.tool === b.tool && a.userId === b.userId && a.deviceId === b.deviceId && a.reason === b.reason && String(a.writes) === String(b.writes);
}

/** Whether the client can put a question to its person: `unknown` when it declared no capabilities at all. */
type AskAbility = 'yes' | 'no' | 'unknown';

/** Form elicitation, as the client declared it: at `initialize` (2025) or per request (2026-07-28). */
function askAbility(server: McpServer, ctx: ServerContext): AskAbility {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const capabilities = (server.server.getClientCapabilities() ?? envelope?.[CLIENT_CAPABILITIES_META_KEY]) as ClientCapabilities | undefined;
  if (capabilities === undefined || capabilities === null || typeof capabilities !== 'object') return 'unknown';
  const elicitation = capabilities.elicitation;
  if (elicitation === undefined) return 'no';
  // A bare `elicitation: {}` means form mode (the 2025-06-18 shape).
  return elicitation.form !== undefined || elicitation.url === undefined ? 'yes' : 'no';
}
