import type { StandardSchemaWithJSON } from '@modelcontextprotocol/server';

type Props = StandardSchemaWithJSON['~standard'];
type Converter = Props['jsonSchema'];
type ConvertOptions = Parameters<Converter['input']>[0];

/**
 * A schema whose JSON Schema forms are converted once and then shared. Over
 * HTTP the SDK builds a server for every request and converts a tool's schemas
 * on each: the input schema on every tools/call (to look for Mcp-Param header
 * declarations), the output schema on the first result. That was a tenth of
 * an audited call's CPU, for a result that depends only on the schema (defined
 * once, at module level) and the options. The shared results are frozen, so no
 * consumer can change what the next request sees.
 */
export function sharedJsonSchema(schema: StandardSchemaWithJSON): StandardSchemaWithJSON {
  return { '~standard': convertedOnce(schema['~standard']) };
}

/** The standard face itself, converting once (see sharedJsonSchema). */
export function convertedOnce(standard: Props): Props {
  return { ...standard, jsonSchema: { input: once(standard.jsonSchema.input), output: once(standard.jsonSchema.output) } };
}

function once(convert: Converter['input']): Converter['input'] {
  const done = new Map<string, Record<string, unknown>>();
  return (options: ConvertOptions) => {
    const key = `${options.target}\u0000${JSON.stringify(options.libraryOptions ?? null)}`;
    let json = done.get(key);
    if (json === undefined) {
      json = deepFreeze(convert(options));
      done.set(key, json);
    }
    return json;
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
