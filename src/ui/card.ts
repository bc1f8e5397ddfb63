import { getUiCapability, registerAppResource, RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY } from '@modelcontextprotocol/ext-apps/server';
import type { ClientCapabilities, McpServer, RegisteredTool } from '@modelcontextprotocol/server';
import type { ReadToolName, ToolName } from '../toolNames.js';
import { cardHtml } from './html.js';

/**
 * The user-status card (MCP Apps): a small read-only view of a find_user or
 * list_user_devices result, shown by hosts that render MCP Apps. Hosts that do
 * not announce the UI extension see neither the resource nor the tools' link
 * to it; every host gets the same text and structuredContent.
 */
export const CARD_URI = 'ui://pingone-helpdesk/user-status.html';
export const CARD_TOOLS: readonly ReadToolName[] = ['find_user', 'list_user_devices'];

/** The view asks for nothing from the network: no connect, resource or frame domains. */
const CARD_RESOURCE_META = { ui: { csp: {}, prefersBorder: true } };

/** Whether a client announced that it renders MCP Apps views (the `io.modelcontextprotocol/ui` extension). */
export function hostShowsCards(capabilities: ClientCapabilities | null | undefined): boolean {
  return getUiCapability(capabilities)?.mimeTypes?.includes(RESOURCE_MIME_TYPE) === true;
}

export type CardToolMeta = { ui: { resourceUri: string }; [RESOURCE_URI_META_KEY]: string };

/**
 * A tool's `_meta` for this client: the link to the card for the two lookups
 * when the client renders views, nothing otherwise. (Both keys: older hosts
 * read the flat `ui/resourceUri`.)
 */
export function cardMetaFor(tool: ToolName, capabilities: ClientCapabilities | null | undefined): CardToolMeta | undefined {
  if (!CARD_TOOLS.includes(tool as ReadToolName) || !hostShowsCards(capabilities)) return undefined;
  return { ui: { resourceUri: CARD_URI }, [RESOURCE_URI_META_KEY]: CARD_URI };
}

/**
 * The client's capabilities as this server instance knows them: from
 * `initialize` on a 2025-era connection, and per request where the SDK's HTTP
 * entry serves 2026-07-28 (it seeds the instance from the request envelope).
 * A 2026-era stdio connection has no initialize and is not seeded: it gets no
 * card, only the text, which every host can show.
 */
function clientCapabilities(server: McpServer): ClientCapabilities | undefined {
  return server.server.getClientCapabilities();
}

/**
 * Links a registered lookup tool to the card, decided when tools are listed
 * (a tool is registered before the client has said what it can render). The
 * SDK's registerTool takes `_meta` only at registration, and reads the
 * registered tool's `_meta` on every `tools/list`: so `_meta` becomes a getter
 * here. Tools without a card, and clients without the UI extension, keep
 * exactly the `_meta` they were registered with.
 */
export function linkCard(server: McpServer, tool: ToolName, registered: RegisteredTool): void {
  if (!CARD_TOOLS.includes(tool as ReadToolName)) return;
  linkedTools.set(registered, { server, tool, base: registered._meta });
  Object.defineProperty(registered, '_meta', { configurable: true, enumerable: true, get: linkedMeta, set: setLinkedMeta });
}

/*
 * The getters below are shared by every server instance and find their instance through a WeakMap.
 * V8 allocates an accessor pair in the old generation at once: a getter made per instance (a
 * closure over the server) would keep every per-request server of the HTTP listener, and all it
 * holds, alive through every young-generation collection until the next full one.
 */
const linkedTools = new WeakMap<object, { server: McpServer; tool: ToolName; base: RegisteredTool['_meta'] }>();

function linkedMeta(this: RegisteredTool): RegisteredTool['_meta'] {
  const link = linkedTools.get(this);
  if (link === undefined) return undefined;
  const card = cardMetaFor(link.tool, clientCapabilities(link.server));
  return card ? { ...link.base, ...card } : link.base;
}

function setLinkedMeta(this: RegisteredTool, value: RegisteredTool['_meta']): void {
  const link = linkedTools.get(this);
  if (link !== undefined) link.base = value;
}

/**
 * Registers the card's HTML as the `ui://` resource, listed and readable only
 * for clients that render MCP Apps. The HTML is static: no data is in it, the
 * host hands the view each tool result.
 */
export function registerCard(server: McpServer): void {
  const resource = registerAppResource(
    server,
    'User status card',
    CARD_URI,
    { title: 'PingOne user status card', description: "A user's account, password and MFA device state, as find_user and list_user_devices return it.", _meta: CARD_RESOURCE_META },
    async () => ({ contents: [{ uri: CARD_URI, mimeType: RESOURCE_MIME_TYPE, text: await cardHtml(), _meta: CARD_RESOURCE_META }] }),
  );
  // Listed and read through `enabled`, which the SDK consults on every resources/list and read:
  // decided per client like the tools' link. Nothing here ever disables it otherwise.
  cardResources.set(resource, server);
  Object.defineProperty(resource, 'enabled', { configurable: true, enumerable: true, get: cardShown, set: ignore });
}

/** The server each card resource was registered on (shared getter, as for the tools' link). */
const cardResources = new WeakMap<object, McpServer>();

function cardShown(this: object): boolean {
  const server = cardResources.get(this);
  return server !== undefined && hostShowsCards(clientCapabilities(server));
}

function ignore(): void {}
