import { nodeCrypto } from '../lazyCrypto.js';
import type { JSONRPCRequest, McpServer, ScopeChallengeHandler } from '@modelcontextprotocol/server';
import { operatorFromAuthInfo, operatorMay, stepUpScopes } from '../auth/tokenOperator.js';
import type { WriteToolName } from '../toolNames.js';
import { auditActor, problemOf, type ToolDeps } from './call.js';
import { describeClient } from './runtime.js';

/**
 * A write tool called with a token that lacks the write scope is answered at
 * the HTTP layer, before the tool runs: 403 `insufficient_scope` naming the
 * scopes to step up to (the SDK sends it from this handler). The refusal is
 * recorded as `denied`: an operator trying to write without the right is
 * exactly what the trail is for. Without a token (stdio, loopback HTTP)
 * there is nothing to step up to.
 */
export function writeScopeChallenge(deps: ToolDeps, server: McpServer, tool: WriteToolName): ScopeChallengeHandler {
  return async ({ authInfo, request }) => {
    if (authInfo === undefined) return undefined;
    const operator = operatorFromAuthInfo(authInfo);
    if (operatorMay(operator, 'write', deps.scopes)) return undefined;
    try {
      await deps.audit.append({
        auditId: nodeCrypto().randomUUID(),
        phase: 'outcome',
        tool,
        target: { environmentId: deps.pingone.environmentId },
        actor: auditActor(deps.actor, operator, describeClient(server, envelopeOf(request))),
        outcome: 'denied',
        durationMs: 0,
        ...(deps.sandbox ? { sandbox: true as const } : {}),
      });
    } catch (problem) {
      // Refused either way: nothing is written, so a broken trail changes only what is logged.
      deps.logger.error({ tool, problem: problemOf(problem) }, 'audit record of a refused write (insufficient scope) not written');
    }
    return { scopes: stepUpScopes('write', deps.scopes), errorDescription: `${tool} needs the ${deps.scopes.write} scope` };
  };
}

/** A 2026-07-28 request's `_meta` envelope, where the client names itself on every request (2025-era clients did at initialize). */
function envelopeOf(request: JSONRPCRequest): Record<string, unknown> | undefined {
  const meta: unknown = (request.params as { _meta?: unknown } | undefined)?._meta;
  return typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : undefined;
}
