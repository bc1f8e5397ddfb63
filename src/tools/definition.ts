import type { McpServer, StandardSchemaWithJSON, ToolAnnotations } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import { ToolError } from './errors.js';
import { UNSAFE_TEXT } from './inputs.js';
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
          inputSchema: advertised(spec.input),
          // Erased to the SDK's schema type: the generic zod object does not narrow through its overloads.
          outputSchema: spec.output as StandardSchemaWithJSON,
          annotations: ANNOTATIONS[spec.access],
        },
        (raw, ctx) => {
          const parsed = spec.input.safeParse(raw);
          const reason = parsed.success ? (parsed.data as { reason?: string }).reason : undefined;
          return runTool(deps, { tool: spec.name, server, ctx, reason }, async (call) => {
            if (!parsed.success) throw new ToolError('INVALID_INPUT', `Invalid arguments: ${describeIssues(parsed.error)}. Nothing was sent to PingOne; call again with the arguments the tool's schema names.`);
            if (spec.access === 'write') checkReason(reason, deps.guards.requireReason);
            return spec.run(parsed.data, call);
          });
        },
      );
    },
  };
}

/**
 * The strict schema as clients see it, with the SDK's own check turned into a
 * pass-through: arguments are checked inside the call instead, so a malformed
 * call is answered like any other failure (structured, with a recovery hint)
 * and recorded in the audit trail as `invalid_input`.
 */
function advertised(schema: z.ZodObject): StandardSchemaWithJSON {
  const standard = (schema as unknown as StandardSchemaWithJSON)['~standard'];
  return { '~standard': { ...standard, validate: (value: unknown) => ({ value }) } };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? `\`${issue.path.join('.')}\`` : 'arguments'}: ${issue.message}`)
    .join('; ');
}

/**
 * A reason ends up in the question put to the person and in the audit trail:
 * it must read as what it is, one line of text from the agent.
 */
function checkReason(reason: string | undefined, required: boolean): void {
  if (reason !== undefined && UNSAFE_TEXT.test(reason)) {
    throw new ToolError('INVALID_INPUT', '`reason` must be one line of plain text (a ticket number or a short justification), without control, line-break or direction-changing characters.');
  }
  if (required && (reason ?? '').trim() === '') {
    throw new ToolError('INVALID_INPUT', 'A `reason` is required for writes on this server (PINGONE_MCP_REQUIRE_REASON): ask the person for the ticket number or justification and call again with it.');
  }
}
