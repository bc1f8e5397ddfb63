import type { McpServer, RegisteredTool, ScopeChallengeHandler, StandardSchemaWithJSON, ToolAnnotations } from '@modelcontextprotocol/server';
import type { Access, ToolName, WriteToolName } from '../toolNames.js';
import type { ToolDeps } from './call.js';
import type { ToolModule, ToolSchemas } from './definition.js';
import { SDK_JSON_SCHEMA_TARGET, type ToolListing } from './listing.js';

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

/**
 * Adds a tool to `server` from its listing. Its code (the tool module, the
 * runtime, the PingOne reads and writes it makes) loads at the first call of
 * any tool, not when the server starts: see listing.ts. The registration is
 * returned so the composition can decorate it (the card link).
 */
export function registerTool(server: McpServer, deps: ToolDeps, listing: ToolListing): RegisteredTool {
  const { name, access } = listing;
  const schemas = schemasOf(listing);
  return server.registerTool(
    name,
    {
      title: listing.title,
      description: listing.description,
      inputSchema: schemas.input,
      outputSchema: schemas.output,
      annotations: ANNOTATIONS[access],
      // Over HTTP with OAuth, a token without the write scope is answered 403 before the tool runs.
      ...(access === 'write' ? { scopeChallenge: deferredScopeChallenge(deps, server, name as WriteToolName) } : {}),
    },
    async (raw, ctx) => (await toolModule(name, deps)).call(raw, ctx, server, deps),
  );
}

let catalog: Promise<typeof import('./catalog.js')> | undefined;

/**
 * The tool's module, loaded with every other one at the first call; a load that failed is tried
 * again at the next (which helps only when the catalog's own file was missing: Node keeps a
 * module whose imports failed as failed until the process ends, hence "restart"). The answer
 * names no file, since the agent and the person see it; the log has the detail.
 */
async function toolModule(name: ToolName, deps?: Pick<ToolDeps, 'logger'>): Promise<ToolModule> {
  const loading = (catalog ??= import('./catalog.js'));
  try {
    return (await loading).TOOLS[name];
  } catch (problem) {
    // Forget only this load: another call may have started a new one since.
    if (catalog === loading) catalog = undefined;
    deps?.logger.error({ err: problem, tool: name }, "the tools' code could not be loaded (its files changed or went missing since the server started); nothing was sent to PingOne");
    throw new Error("The server could not load the code of its tools, so nothing was sent to PingOne: its files changed or went missing since it started (was it updated while running?). Restart the server; its log has the details.", { cause: problem });
  }
}

/** The scope check (scopes.ts) records a refusal in the trail with the tools' own code: it loads with them. */
function deferredScopeChallenge(deps: ToolDeps, server: McpServer, tool: WriteToolName): ScopeChallengeHandler {
  return async (request) => (request.authInfo === undefined ? undefined : (await import('./scopes.js')).writeScopeChallenge(deps, server, tool)(request));
}

/**
 * Each tool's schemas as the SDK reads them, made once from the listing and
 * shared by every server (HTTP builds one per request). The SDK asks for the
 * JSON Schemas on every tools/list and tools/call: the listing answers. It
 * does not check the arguments: the tool does (definition.ts), so that a
 * malformed call is recorded and answered like any other failure. It checks a
 * result against the output schema with the tool's own zod schema, loaded by then.
 */
function schemasOf(listing: ToolListing): ToolSchemas {
  let schemas = SCHEMAS.get(listing);
  if (schemas === undefined) {
    schemas = {
      input: fromListing(listing, 'input', (value) => ({ value })),
      output: fromListing(listing, 'output', async (value) => (await toolModule(listing.name)).schemas.output['~standard'].validate(value)),
    };
    SCHEMAS.set(listing, schemas);
  }
  return schemas;
}

/** Keyed by the listing itself: the listings are made once and frozen (listing.ts). */
const SCHEMAS = new WeakMap<ToolListing, ToolSchemas>();

type Validate = StandardSchemaWithJSON['~standard']['validate'];

function fromListing(listing: ToolListing, io: 'input' | 'output', validate: Validate): StandardSchemaWithJSON {
  const json = (options: { target: string }): Record<string, unknown> => {
    // The SDK asks for one target only; a change there must fail loudly, never show a schema in the wrong dialect.
    if (options.target !== SDK_JSON_SCHEMA_TARGET) throw new Error(`${listing.name}: its JSON Schema is built for ${SDK_JSON_SCHEMA_TARGET}, not ${options.target}`);
    return listing[io] as Record<string, unknown>;
  };
  return { '~standard': { version: 1, vendor: 'pingone-helpdesk-mcp', validate, jsonSchema: { input: json, output: json } } };
}
