import type { CallToolResult, InputRequiredResult, McpServer, ServerContext, StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import type * as z from 'zod';
import { escapedText, hasUnsafeCharacters, safeText } from '../text/untrusted.js';
import { TOOL_ACCESS, type Access, type ToolName } from '../toolNames.js';
import { ToolError } from './errors.js';
import type { BodyResult, Call, ToolDeps } from './call.js';
import { PROTO_ARGUMENT_MARK } from './protoArgument.js';
import { runTool } from './runtime.js';

/** Argument names that would reach an object's prototype: refused like any unknown argument. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];

/** A tool's zod schemas, as written: the input checks arguments, the output is what results promise. */
export interface ToolSchemas {
  readonly input: StandardSchemaWithJSON;
  readonly output: StandardSchemaWithJSON;
}

/**
 * A tool as a value: what the model is shown of it (made into the listing, listing.ts),
 * what it may touch, and how one call of it runs (the registration, register.ts, hands calls here).
 */
export interface ToolModule<N extends ToolName = ToolName> {
  readonly name: N;
  readonly access: Access;
  readonly title: string;
  readonly description: string;
  readonly schemas: ToolSchemas;
  /** One call with the arguments as the agent sent them, on the server instance that received it. */
  call(raw: unknown, ctx: ServerContext, server: McpServer, deps: ToolDeps): Promise<CallToolResult | InputRequiredResult>;
}

/** A tool from its definition; its access comes from the catalog of names (`toolNames.ts`). */
export function defineTool<N extends ToolName, I extends z.ZodObject, O extends z.ZodObject>(spec: {
  name: N;
  title: string;
  description: string;
  input: I;
  output: O;
  run: (args: z.infer<I>, call: Call) => Promise<BodyResult>;
}): ToolModule<N> {
  const access = TOOL_ACCESS[spec.name];
  return {
    name: spec.name,
    access,
    title: spec.title,
    description: spec.description,
    // Erased to the SDK's schema type: the generic zod object does not narrow through its overloads.
    schemas: { input: spec.input as unknown as StandardSchemaWithJSON, output: spec.output as StandardSchemaWithJSON },
    call(raw, ctx, server, deps) {
      // Arguments are checked here rather than by the SDK, so a malformed call is answered like any other
      // failure (structured, with a recovery hint) and recorded in the audit trail as `invalid_input`.
      const parsed = parseArguments(spec.input, raw);
      const reason = parsed.success ? (parsed.data as { reason?: string }).reason : undefined;
      // A reason refused below is still recorded with the refusal, as evidence: spelled out, never raw into the trail.
      const recorded = reason !== undefined && hasUnsafeCharacters(reason) ? escapedText(reason, 1000) : reason;
      return runTool(deps, { tool: spec.name, server, ctx, reason: recorded }, async (call) => {
        if (!parsed.success) throw new ToolError('INVALID_INPUT', `Invalid arguments: ${parsed.problem}. Nothing was sent to PingOne; call again with the arguments the tool's schema names.`);
        if (access === 'write') checkReason(reason, deps.guards.requireReason);
        return spec.run(parsed.data, call);
      });
    },
  };
}

function parseArguments<I extends z.ZodObject>(schema: I, raw: unknown): { success: true; data: z.infer<I> } | { success: false; problem: string } {
  if (typeof raw === 'object' && raw !== null) {
    if (Object.hasOwn(raw, PROTO_ARGUMENT_MARK)) return { success: false, problem: '`__proto__` is not an argument of this tool' };
    const reserved = PROTOTYPE_KEYS.find((key) => Object.hasOwn(raw, key));
    if (reserved !== undefined) return { success: false, problem: `\`${reserved}\` is not an argument of this tool` };
    // A `__proto__` key that a parser on the way turned into the object's prototype.
    const prototype: unknown = Object.getPrototypeOf(raw);
    if (prototype !== Object.prototype && prototype !== null) return { success: false, problem: '`__proto__` is not an argument of this tool' };
  }
  const parsed = schema.safeParse(raw);
  return parsed.success ? { success: true, data: parsed.data } : { success: false, problem: describeIssues(parsed.error) };
}

/** Zod's issues name the agent's keys: made safe text like anything else that is echoed. */
function describeIssues(error: z.ZodError): string {
  const text = error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? `\`${issue.path.map(String).join('.').slice(0, 64)}\`` : 'arguments'}: ${issue.message}`)
    .join('; ');
  return safeText(text, 500);
}

/**
 * A reason ends up in the question put to the person and in the audit trail:
 * it must read as what it is, one line of visible text from the agent.
 */
function checkReason(reason: string | undefined, required: boolean): void {
  if (reason !== undefined && hasUnsafeCharacters(reason)) {
    throw new ToolError('INVALID_INPUT', '`reason` must be one line of plain text (a ticket number or a short justification), without control, line-break, direction-changing or invisible characters.');
  }
  if (required && (reason ?? '').trim() === '') {
    throw new ToolError('INVALID_INPUT', 'A `reason` is required for writes on this server (PINGONE_MCP_REQUIRE_REASON): ask the person for the ticket number or justification and call again with it.');
  }
}
