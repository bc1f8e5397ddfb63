import type { Guards } from '../config.js';
import { isToolName, TOOL_ACCESS, type Access, type ToolName } from '../toolNames.js';
import type { ToolModule } from './definition.js';

/**
 * The tools as `tools/list` shows them, without the code that runs them.
 *
 * A client starts this server, lists the tools, and may call one much later or
 * never: what it is shown (names, titles, descriptions and JSON Schemas)
 * depends only on the tool modules as written. So build.mjs produces the
 * listing once, from the catalog, and the bundle carries it as a constant;
 * the tool modules (their zod schemas, bodies, the tool runtime and the
 * result formatting) load at the first call instead of at every start
 * (register.ts). Unbundled (tests, tsx) there is no constant: the tool
 * modules load with this module and the listing is made from them, as the
 * build makes it. A test compares the built binary's `tools/list` with the
 * unbundled server's.
 */

type JsonSchema = Readonly<Record<string, unknown>>;

/** What the build writes for a tool: everything a client is shown of it. */
export interface BuiltListing {
  readonly name: ToolName;
  readonly title: string;
  readonly description: string;
  /** JSON Schemas converted as the SDK converts a tool's schemas (its target, draft 2020-12). */
  readonly input: JsonSchema;
  readonly output: JsonSchema;
}

/**
 * A tool's listing with whether it writes, which decides read-only mode, the write
 * scope's challenge and the annotations. That comes from the catalog of names
 * (toolNames.ts) when the listing is loaded, never from the build's text, so a
 * listing edited or from another build cannot offer a write as a read.
 */
export interface ToolListing extends BuiltListing {
  readonly access: Access;
}

/** The target the SDK asks schemas for (its JSON_SCHEMA_CONVERSION_TARGET). */
export const SDK_JSON_SCHEMA_TARGET = 'draft-2020-12';

/** What build.mjs stores, and what the unbundled server makes at load: each tool's listing, in the catalog's order. */
export function listTools(tools: readonly ToolModule[]): BuiltListing[] {
  return tools.map((tool) => ({
    name: tool.name,
    title: tool.title,
    description: tool.description,
    input: tool.schemas.input['~standard'].jsonSchema.input({ target: SDK_JSON_SCHEMA_TARGET }),
    output: tool.schemas.output['~standard'].jsonSchema.output({ target: SDK_JSON_SCHEMA_TARGET }),
  }));
}

// Set by the bundler (build.mjs) to the JSON text of listTools(ALL_TOOLS); absent when src/ runs unbundled.
declare const __TOOL_LISTING__: string | undefined;

/**
 * Every tool's listing, in the catalog's order. Frozen: the servers HTTP builds
 * per request share it, and none may change what the next one shows.
 */
export const TOOL_LISTINGS: readonly ToolListing[] = deepFreeze(
  withAccess(typeof __TOOL_LISTING__ === 'string' ? (JSON.parse(__TOOL_LISTING__) as BuiltListing[]) : listTools((await import('./catalog.js')).ALL_TOOLS)),
);

/** Each listing's fields, and its access from the catalog of names; a name the catalog does not know is dropped. */
function withAccess(listings: readonly BuiltListing[]): ToolListing[] {
  return listings
    .filter((listing) => isToolName(listing.name))
    .map(({ name, title, description, input, output }) => ({ name, access: TOOL_ACCESS[name], title, description, input, output }));
}

/** The tools this configuration offers: read-only mode drops every write tool, whatever the allow-list says. */
export function offeredListings(guards: Guards): ToolListing[] {
  return TOOL_LISTINGS.filter((tool) => (!guards.readOnly || tool.access === 'read') && (guards.tools === undefined || guards.tools.has(tool.name)));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
