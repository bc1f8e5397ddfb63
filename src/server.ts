import { McpServer, type AuthInfo, type ListToolsResult, type McpRequestContext } from '@modelcontextprotocol/server';
import { operatorFromAuthInfo, operatorMay } from './auth/tokenOperator.js';
import { registerPrompts } from './prompts/register.js';
import { offeredListings, type ToolListing } from './tools/listing.js';
import { markProtoArgument } from './tools/protoArgument.js';
import { registerTool } from './tools/register.js';
import { linkCard, registerCard } from './ui/card.js';
import type { ToolDeps } from './tools/call.js';
import { SERVER_NAME, SERVER_VERSION } from './version.js';

/**
 * Builds one MCP server instance from its collaborators. `serveStdio` calls
 * this once per connection, the HTTP listener once per request (2026-07-28)
 * or per session (2025 era), with the caller's verified token: a caller whose
 * token lacks the write scope is shown only the reads (for a session, for its
 * whole life). The write tools stay registered, so that calling one is
 * answered with the step-up challenge rather than "unknown tool".
 *
 * `onlyTool` names the tool of the one `tools/call` the instance will serve
 * (see `perRequestServer`): when it is one this configuration offers, that tool
 * alone is registered; any other name gets the whole server, which answers it as always.
 */
export function createServer(deps: ToolDeps, caller?: AuthInfo, onlyTool?: string): McpServer {
  const tools = offeredListings(deps.guards);
  const called = onlyTool === undefined ? undefined : tools.find((tool) => tool.name === onlyTool);
  if (called !== undefined) {
    // Nothing but this call: no list to filter, no prompts, no card resource, and no instructions
    // (they go out with `initialize` and `server/discover` only, never with a tools/call).
    const server = emptyServer(deps, undefined);
    linkCard(server, called.name, registerTool(server, deps, called));
    keepProtoArguments(server);
    return server;
  }
  const shown = callerMayWrite(deps, caller) ? tools : tools.filter((tool) => tool.access === 'read');
  const server = emptyServer(deps, instructions(deps, shown));
  if (shown.length < tools.length) listOnly(server, new Set(shown.map((tool) => tool.name)));
  // The lookups link the status card for hosts that render MCP Apps; others see the same tools as before.
  for (const tool of tools) linkCard(server, tool.name, registerTool(server, deps, tool));
  keepProtoArguments(server);
  registerCard(server);
  // The prompts follow what this caller is shown: a read-only operator is not walked towards a write.
  registerPrompts(server, { offered: new Set(shown.map((tool) => tool.name)), confirm: deps.guards.confirm, requireReason: deps.guards.requireReason });
  return server;
}

function emptyServer(deps: ToolDeps, withInstructions: string | undefined): McpServer {
  return new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION, title: 'PingOne Helpdesk' },
    {
      // No `capabilities.tools` here: McpServer then installs its tool handlers at the first
      // registration, after `listOnly` (below) is in place; the capability is declared the same way.
      ...(withInstructions === undefined ? {} : { instructions: withInstructions }),
      // The state of a confirmation question comes back through the client: only what we sealed is accepted.
      requestState: { verify: deps.confirmation.verify },
    },
  );
}

/**
 * The HTTP listener's factory: one instance per request. A 2026-07-28
 * `tools/call` gets an instance with the called tool alone, which costs a
 * fifth of the whole server to build and to collect. The SDK checks, before it
 * asks the factory, that the Mcp-Method and Mcp-Name headers say what the body
 * says (else the request is refused), so the headers name the call the
 * instance serves; without them the instance is the whole server. When the
 * body's name is not a string the SDK skips that check, and dispatch then
 * refuses the request as invalid whatever the instance holds. A 2025-era
 * session serves many requests and always gets the whole server.
 */
export function perRequestServer(deps: ToolDeps): (ctx: McpRequestContext) => McpServer {
  return (ctx) => createServer(deps, ctx.authInfo, calledTool(ctx));
}

function calledTool(ctx: McpRequestContext): string | undefined {
  const headers = ctx.era === 'modern' ? ctx.requestInfo?.headers : undefined;
  if (headers?.get('mcp-method') !== 'tools/call') return undefined;
  return headers.get('mcp-name') ?? undefined;
}

/**
 * `tools/list` shows only `names`. The SDK lists every enabled tool, and a
 * disabled one would no longer answer with the scope challenge; so the list
 * handler McpServer installs (on the first registration) is wrapped as it is set.
 */
function listOnly(server: McpServer, names: ReadonlySet<string>): void {
  const protocol = server.server;
  const set = protocol.setRequestHandler.bind(protocol) as (method: string, ...rest: unknown[]) => void;
  const filtered = (method: string, ...rest: unknown[]): void => {
    const [handler] = rest;
    if (method !== 'tools/list' || typeof handler !== 'function') return set(method, ...rest);
    const list = handler as (...args: unknown[]) => ListToolsResult | Promise<ListToolsResult>;
    set(method, async (...args: unknown[]) => {
      const result = await list(...args);
      return { ...result, tools: result.tools.filter((tool) => names.has(tool.name)) };
    });
  };
  protocol.setRequestHandler = filtered as typeof protocol.setRequestHandler;
}

/** Every message is looked at as it arrives, before the SDK parses it: see protoArgument.ts. */
function keepProtoArguments(server: McpServer): void {
  const connect = server.connect.bind(server);
  // Each function is made before it is assigned: V8 allocates a function written straight into a
  // property (`x.y = () => …`) in the old generation, and it would keep this per-request server
  // and its transport alive through every young-generation collection until the next full one.
  const connectMarking: McpServer['connect'] = async (transport) => {
    await connect(transport);
    const deliver = transport.onmessage;
    if (deliver === undefined) return;
    const marking: typeof deliver = (message, extra) => deliver.call(transport, markProtoArgument(message), extra);
    transport.onmessage = marking;
  };
  server.connect = connectMarking;
}

/** Whether a caller's token allows writes; no token (stdio, loopback HTTP) leaves it to the configuration. */
function callerMayWrite(deps: ToolDeps, caller: AuthInfo | undefined): boolean {
  return caller === undefined || operatorMay(operatorFromAuthInfo(caller), 'write', deps.scopes);
}

function instructions(deps: ToolDeps, tools: ToolListing[]): string {
  const { guards } = deps;
  const writes = tools.some((tool) => tool.access === 'write');
  const lines = [
    deps.sandbox
      ? 'SANDBOX MODE: PingOne here is an embedded emulator with fictional demo users (for example jdoe, who is locked and has a blocked SMS device), not a real tenant; say so when you report results.'
      : `This server acts on PingOne environment ${deps.pingone.environmentId} for helpdesk work.`,
    'Work in this order: look the user up (find_user) exactly as the person named them, check the state (account lock, or list_user_devices for MFA devices), act only on what needs fixing, then report the result to the person in one or two sentences.',
    'Never guess or invent user or device IDs: take them from tool results. When several users match, ask the person which one is meant.',
  ];
  if (!writes) {
    lines.push('This configuration is read-only: you can look users and devices up, but a PingOne administrator must make any change.');
    return lines.join('\n');
  }
  lines.push('The write tools read the current state first and change nothing when there is nothing to fix; relay their explanation instead of retrying. dryRun: true shows what a write would do.');
  const guardLines: string[] = [];
  if (guards.requireReason) guardLines.push('every write needs a `reason` (ticket number or justification)');
  else guardLines.push('pass the ticket number or justification as `reason`');
  if (guards.allowedPopulations) guardLines.push(`writes are allowed only for users in populations ${[...guards.allowedPopulations].join(', ')}`);
  if (guards.protectedUsers.size > 0) guardLines.push('some accounts are protected and never changed');
  guardLines.push(`at most ${guards.maxWritesPerMinute} writes per minute`);
  if (guards.confirm === 'always') guardLines.push('a person must confirm every write; clients that cannot ask are refused');
  else if (guards.confirm === 'auto') guardLines.push('where the client can ask, the person confirms each write; a refusal means stop');
  lines.push(`Guards in this configuration: ${guardLines.join('; ')}. A denied result is final for that request: explain it, do not work around it.`);
  lines.push('Every call is recorded in an audit trail; results carry its auditId.');
  return lines.join('\n');
}
