import type { McpServer, RegisteredTool, StandardSchemaWithJSON, ToolAnnotations } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import { escapedText, hasUnsafeCharacters, safeText } from '../text/untrusted.js';
import { TOOL_ACCESS, type Access, type ToolName, type WriteToolName } from '../toolNames.js';
import { withBuiltJsonSchema, type ToolSchemas } from './builtSchemas.js';
import { ToolError } from './errors.js';
import type { BodyResult, Call, ToolDeps } from './call.js';
import { runTool } from './runtime.js';
import { sharedJsonSchema } from './schemaJson.js';
import { writeScopeChallenge } from './scopes.js';

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

/** Argument names that would reach an object's prototype: refused like any unknown argument. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];

/**
 * The SDK's request parsing silently drops an own `__proto__` key, so the
 * server renames it to this before parsing (`server.ts`): the tool then sees,
 * and refuses, an argument the agent really sent.
 */
export const PROTO_ARGUMENT_MARK = '(__proto__)';

/** A tool as a value: what the model sees, what it may touch, and how to add it to a server. */
export interface ToolModule<N extends ToolName = ToolName> {
  readonly name: N;
  readonly access: Access;
  /** Its zod schemas as written, for build.mjs to convert to JSON Schema (builtSchemas.ts). */
  readonly schemas: ToolSchemas;
  /** Adds the tool to `server`; the registration is returned so the composition can decorate it (the card link). */
  register(server: McpServer, deps: ToolDeps): RegisteredTool;
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
  // Erased to the SDK's schema type: the generic zod object does not narrow through its overloads.
  const schemas: ToolSchemas = { name: spec.name, input: spec.input as unknown as StandardSchemaWithJSON, output: spec.output as StandardSchemaWithJSON };
  // Made once per tool, not per server (over HTTP a server is built for every request): the build's JSON
  // Schemas when bundled (builtSchemas.ts), converted at most once and shared between servers (schemaJson.ts).
  const inputSchema = sharedJsonSchema(withBuiltJsonSchema(advertised(schemas.input), spec.name, 'input'));
  const outputSchema = sharedJsonSchema(withBuiltJsonSchema(schemas.output, spec.name, 'output'));
  return {
    name: spec.name,
    access,
    schemas,
    register(server, deps) {
      return server.registerTool(
        spec.name,
        {
          title: spec.title,
          description: spec.description,
          inputSchema,
          outputSchema,
          annotations: ANNOTATIONS[access],
          // Over HTTP with OAuth, a token without the write scope is answered 403 before the tool runs.
          ...(access === 'write' ? { scopeChallenge: writeScopeChallenge(deps, server, spec.name as WriteToolName) } : {}),
        },
        (raw, ctx) => {
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
      );
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

/**
 * The strict schema as clients see it, with the SDK's own check turned into a
 * pass-through: arguments are checked inside the call instead, so a malformed
 * call is answered like any other failure (structured, with a recovery hint)
 * and recorded in the audit trail as `invalid_input`.
 */
function advertised(schema: StandardSchemaWithJSON): StandardSchemaWithJSON {
  const standard = schema['~standard'];
  return { '~standard': { ...standard, validate: (value: unknown) => ({ value }) } };
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
