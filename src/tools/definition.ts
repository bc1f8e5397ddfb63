import type { McpServer, StandardSchemaWithJSON, ToolAnnotations } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import { ToolError } from './errors.js';
import type { ToolName } from '../toolNames.js';
import { runTool, type BodyResult, type ToolCall, type ToolDeps } from './runtime.js';

export type Access = 'read' | 'write';

/**
 * Hints derived from access, so read-only mode and the annotations can never
 * disagree. The writes restore access: not destructive, and repeating them
 * leaves the same state (the spec's defaults would have clients warn about
 * them as if they deleted something).
 */
const ANNOTATIONS: Record<Access, ToolAnnotations> = {
  read: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  write: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
};

/** A tool as a value: what the model sees, what it may touch, and how to add it to a server. */
export interface ToolModule {
  readonly name: ToolName;
  readonly access: Access;
  register(server: McpServer, deps: ToolDeps): void;
}

export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(spec: {
  name: ToolName;
  access: Access;
  title: string;
  description: string;
  input: I;
  output: O;
  run: (args: z.infer<I>, call: ToolCall) => Promise<BodyResult>;
}): ToolModule {
  return {
    name: spec.name,
    access: spec.access,
    register(server, deps) {
      server.registerTool(
        spec.name,
        {
          title: spec.title,
          description: spec.description,
          // Erased to the SDK's schema type: the generic zod object does not narrow through its overloads.
          inputSchema: spec.input as StandardSchemaWithJSON,
          outputSchema: spec.output as StandardSchemaWithJSON,
          annotations: ANNOTATIONS[spec.access],
        },
        (args, ctx) => {
          const given = (args as { reason?: unknown }).reason;
          const reason = typeof given === 'string' ? given : undefined;
          return runTool(deps, { tool: spec.name, server, ctx, reason }, async (call) => {
            if (spec.access === 'write' && deps.guards.requireReason && (reason ?? '').trim() === '') {
              throw new ToolError('INVALID_INPUT', 'A `reason` is required for writes on this server (PINGONE_MCP_REQUIRE_REASON): ask the person for the ticket number or justification and call again with it.');
            }
            return spec.run(args as z.infer<I>, call);
          });
        },
      );
    },
  };
}
