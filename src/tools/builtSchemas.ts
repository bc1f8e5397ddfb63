import type { StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import type { ToolName } from '../toolNames.js';

/**
 * The JSON Schemas the tools show in `tools/list`, converted from their zod
 * schemas when the bundle is built rather than by every process that starts.
 * zod's JSON Schema conversion of the five tools was most of a first
 * `tools/list` (9 to 18 ms on the 2-core machine, by its load), and its
 * result depends only on the schemas, which are fixed at build time.
 *
 * build.mjs runs `convertToolSchemas` over the catalog and the bundle carries
 * the result as a constant; unbundled (tests, tsx) there is none and zod
 * converts when asked, as it always did. A test compares the built binary's
 * `tools/list` with the unbundled server's.
 */

/** The target the SDK asks schemas for (its JSON_SCHEMA_CONVERSION_TARGET); any other is converted live. */
const SDK_JSON_SCHEMA_TARGET = 'draft-2020-12';

type JsonSchema = Record<string, unknown>;
export type ToolJsonSchemas = Partial<Record<ToolName, { input: JsonSchema; output: JsonSchema }>>;

// Set by the bundler (build.mjs) to the JSON text of a ToolJsonSchemas; absent when src/ runs unbundled.
declare const __TOOL_JSON_SCHEMAS__: string | undefined;

let built: ToolJsonSchemas | undefined;

function builtJsonSchema(tool: ToolName, io: 'input' | 'output'): JsonSchema | undefined {
  if (typeof __TOOL_JSON_SCHEMAS__ !== 'string') return undefined;
  built ??= JSON.parse(__TOOL_JSON_SCHEMAS__) as ToolJsonSchemas;
  return built[tool]?.[io];
}

/** A tool's schemas as the SDK reads them: its zod input (erased to the SDK's type) and output. */
export interface ToolSchemas {
  readonly name: ToolName;
  readonly input: StandardSchemaWithJSON;
  readonly output: StandardSchemaWithJSON;
}

/** What build.mjs stores: each tool's schemas converted exactly as the SDK converts them. */
export function convertToolSchemas(tools: readonly ToolSchemas[]): ToolJsonSchemas {
  const converted: ToolJsonSchemas = {};
  for (const tool of tools) {
    converted[tool.name] = {
      input: tool.input['~standard'].jsonSchema.input({ target: SDK_JSON_SCHEMA_TARGET }),
      output: tool.output['~standard'].jsonSchema.output({ target: SDK_JSON_SCHEMA_TARGET }),
    };
  }
  return converted;
}

/**
 * `schema` answering the SDK's JSON Schema request with the build-time
 * conversion of `tool`'s `io` schema when there is one, and converting live
 * otherwise. Validation is untouched. The answer is not copied: the tools
 * share it between servers, frozen (schemaJson.ts).
 */
export function withBuiltJsonSchema(schema: StandardSchemaWithJSON, tool: ToolName, io: 'input' | 'output'): StandardSchemaWithJSON {
  const json = builtJsonSchema(tool, io);
  if (json === undefined) return schema;
  const standard = schema['~standard'];
  const convert = standard.jsonSchema[io];
  const answer: typeof convert = (options) => (options.target === SDK_JSON_SCHEMA_TARGET ? json : convert(options));
  return { '~standard': { ...standard, jsonSchema: { ...standard.jsonSchema, [io]: answer } } };
}
