import type { McpServer, ServerContext } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { ConfirmationGate, type ApprovedAction } from '../../src/tools/confirm.js';
import { ToolError } from '../../src/tools/errors.js';

/** Just the parts of the SDK's objects the gate reads. */
function fakeMcp(options: { elicitation: boolean | 'undeclared'; state?: unknown; responses?: Record<string, unknown> }) {
  const capabilities = options.elicitation === 'undeclared' ? undefined : options.elicitation ? { elicitation: {} } : {};
  const server = { server: { getClientCapabilities: () => capabilities } } as unknown as McpServer;
  const ctx = {
    mcpReq: { requestState: () => options.state, inputResponses: options.responses, method: 'tools/call' },
  } as unknown as ServerContext;
  return { server, ctx };
}

const action: ApprovedAction = { tool: 'unlock_user', userId: '5412b934-c252-4a33-bd11-22988989ff47', reason: 'INC-1' };
/** operatorKey of a verified operator: issuer and subject. */
const OP = JSON.stringify(['https://issuer.test', 'operator-a']);
const accepted = { confirm: { action: 'accept', content: { confirm: true } } };

describe('ConfirmationGate', () => {
  it('asks with a sealed state that its own verify accepts and decodes', async () => {
    const gate = new ConfirmationGate('auto');
    const mcp = fakeMcp({ elicitation: true });
    const decision = await gate.decide(mcp, 'audit-1', OP, action, 'Unlock jdoe?');
    expect(decision.kind).toBe('ask');
    if (decision.kind !== 'ask') return;
    const state = decision.result.requestState!;
    await expect(gate.verify(state, mcp.ctx)).resolves.toEqual({ auditId: 'audit-1', operator: OP, questionId: expect.any(String), action });
  });

  it('rejects state that was altered, or sealed by another process', async () => {
    const gate = new ConfirmationGate('auto');
    const mcp = fakeMcp({ elicitation: true });
    const decision = await gate.decide(mcp, 'audit-1', OP, action, 'Unlock jdoe?');
    if (decision.kind !== 'ask') throw new Error('expected a question');
    const state = decision.result.requestState!;
    const [version, body, mac] = state.split('.');
    const forgedBody = Buffer.from(Buffer.from(body!, 'base64url').toString().replace(action.userId, '00000000-0000-4000-8000-000000000000')).toString('base64url');
    await expect(gate.verify(`${version}.${forgedBody}.${mac}`, mcp.ctx)).rejects.toThrow();
    await expect(new ConfirmationGate('auto').verify(state, mcp.ctx)).rejects.toThrow();
  });

  it('refuses an answer given for a different action', async () => {
    const gate = new ConfirmationGate('auto');
    const approvedElsewhere = { auditId: 'audit-1', operator: OP, questionId: 'q-1', action: { ...action, userId: '91b45cf2-7606-4dbb-8285-cc7ee77ffaec' } };
    const mcp = fakeMcp({ elicitation: true, state: approvedElsewhere, responses: accepted });
    await expect(gate.decide(mcp, 'audit-1', OP, action, 'Unlock jdoe?')).rejects.toSatisfy(
      (error: unknown) => error instanceof ToolError && error.code === 'CONFIRMATION_MISMATCH',
    );
  });

  it('refuses an answer whose reason differs from the approved one', async () => {
    const gate = new ConfirmationGate('auto');
    const mcp = fakeMcp({ elicitation: true, state: { auditId: 'a', operator: OP, questionId: 'q-2', action: { ...action, reason: 'INC-2' } }, responses: accepted });
    await expect(gate.decide(mcp, 'a', OP, action, 'q')).rejects.toSatisfy((error: unknown) => error instanceof ToolError && error.code === 'CONFIRMATION_MISMATCH');
  });

  it('proceeds on an accepted answer bound to the same action', async () => {
    const gate = new ConfirmationGate('always');
    const mcp = fakeMcp({ elicitation: true, state: { auditId: 'a', operator: OP, questionId: 'q-3', action }, responses: accepted });
    await expect(gate.decide(mcp, 'a', OP, action, 'q')).resolves.toEqual({ kind: 'proceed', how: 'confirmed' });
  });

  it('lets one answer confirm one write: a replay of the same state and answer is refused', async () => {
    const gate = new ConfirmationGate('auto');
    const mcp = fakeMcp({ elicitation: true, state: { auditId: 'once', operator: OP, questionId: 'q-once', action }, responses: accepted });
    await expect(gate.decide(mcp, 'once', OP, action, 'q')).resolves.toEqual({ kind: 'proceed', how: 'confirmed' });
    await expect(gate.decide(mcp, 'once', OP, action, 'q')).rejects.toSatisfy(
      (error: unknown) => error instanceof ToolError && error.code === 'CONFIRMATION_MISMATCH' && /already answered/.test(error.message),
    );
  });

  it.each([
    ['declined', { confirm: { action: 'decline' } }],
    ['cancelled', { confirm: { action: 'cancel' } }],
    ['answered without confirming', { confirm: { action: 'accept', content: { confirm: false } } }],
  ])('spends a question on any answer: one %s cannot be re-sent as accepted', async (_what, refusal) => {
    const gate = new ConfirmationGate('auto');
    const state = { auditId: 'dec', operator: OP, questionId: 'q-dec', action };
    await expect(gate.decide(fakeMcp({ elicitation: true, state, responses: refusal }), 'dec', OP, action, 'q')).rejects.toSatisfy(
      (error: unknown) => error instanceof ToolError && error.code === 'NOT_CONFIRMED',
    );
    await expect(gate.decide(fakeMcp({ elicitation: true, state, responses: accepted }), 'dec', OP, action, 'q')).rejects.toSatisfy(
      (error: unknown) => error instanceof ToolError && error.code === 'CONFIRMATION_MISMATCH',
    );
  });

  it('asks again when the state came back without an answer', async () => {
    const gate = new ConfirmationGate('auto');
    const mcp = fakeMcp({ elicitation: true, state: { auditId: 'a', operator: OP, questionId: 'q-4', action } });
    expect((await gate.decide(mcp, 'a', OP, action, 'q')).kind).toBe('ask');
  });

  it('reports the audit id a question was asked under', () => {
    const gate = new ConfirmationGate('auto');
    expect(gate.resumedAuditId(fakeMcp({ elicitation: true, state: { auditId: 'a-1', action } }).ctx, action.tool)).toBe('a-1');
    expect(gate.resumedAuditId(fakeMcp({ elicitation: true, state: { auditId: 'a-1', action } }).ctx, 'find_user')).toBeUndefined();
    expect(gate.resumedAuditId(fakeMcp({ elicitation: true }).ctx, action.tool)).toBeUndefined();
  });

  it('refuses an answer sealed for another operator, without spending it for the one who was asked', async () => {
    const gate = new ConfirmationGate('auto');
    const state = { auditId: 'a', operator: OP, questionId: 'q-other', action };
    const other = JSON.stringify(['https://issuer.test', 'operator-b']);
    await expect(gate.decide(fakeMcp({ elicitation: true, state, responses: accepted }), 'a', other, action, 'q')).rejects.toSatisfy(
      (error: unknown) => error instanceof ToolError && error.code === 'CONFIRMATION_MISMATCH' && /another operator/.test(error.message),
    );
    await expect(gate.decide(fakeMcp({ elicitation: true, state, responses: accepted }), 'a', OP, action, 'q')).resolves.toEqual({ kind: 'proceed', how: 'confirmed' });
  });

  it('auto: a client that declared it cannot ask proceeds unasked; one that declared nothing is refused like always', async () => {
    const gate = new ConfirmationGate('auto');
    await expect(gate.decide(fakeMcp({ elicitation: false }), 'a', OP, action, 'q')).resolves.toEqual({ kind: 'proceed', how: 'not asked' });
    await expect(gate.decide(fakeMcp({ elicitation: 'undeclared' }), 'a', OP, action, 'q')).rejects.toSatisfy(
      (error: unknown) => error instanceof ToolError && error.code === 'CONFIRMATION_UNAVAILABLE' && /did not say/.test(error.message),
    );
    expect(() => gate.assertCanConfirm(fakeMcp({ elicitation: 'undeclared' }))).toThrow(ToolError);
    expect(() => gate.assertCanConfirm(fakeMcp({ elicitation: false }))).not.toThrow();
  });

  it('never: writes without asking whatever the client declared', async () => {
    const gate = new ConfirmationGate('never');
    await expect(gate.decide(fakeMcp({ elicitation: 'undeclared' }), 'a', OP, action, 'q')).resolves.toEqual({ kind: 'proceed', how: 'not asked' });
  });
});
