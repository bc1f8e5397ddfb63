import type { RegisteredTool } from '@modelcontextprotocol/server';

/** Per output schema object: the first tool registered with it, until a second one asks; then its JSON Schema. */
const converted = new WeakMap<object, { first: RegisteredTool } | { json: Record<string, unknown> | undefined }>();

/**
 * Shares a tool's output JSON Schema between server instances. Over HTTP a
 * server is built for every request, and the SDK converts a tool's zod output
 * schema to JSON Schema once per instance, on its first tools/call: a tenth of
 * the CPU of an audited call. The conversion depends only on the schema
 * object (tools define theirs once, at module level), so it is done once.
 * Nothing is converted eagerly: a lone stdio server pays nothing at start-up.
 */
export function shareOutputSchemaJson(tool: RegisteredTool): RegisteredTool {
  const schema = tool.outputSchema;
  if (schema === undefined) return tool;
  const known = converted.get(schema);
  if (known === undefined) {
    converted.set(schema, { first: tool });
  } else {
    const json = 'json' in known ? known.json : known.first.outputSchemaJson;
    if (!('json' in known)) converted.set(schema, { json });
    if (json !== undefined) tool.outputSchemaJson = json;
  }
  return tool;
}
