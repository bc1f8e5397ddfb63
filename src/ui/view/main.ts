import type { McpUiHostContext } from '@modelcontextprotocol/ext-apps';
import { HostBridge } from './bridge.js';
import { readCard } from './read.js';
import { renderCard, renderMessage } from './render.js';

/** The user-status card: waits for the host's tool result and shows it. Reads and proposes; never writes. */

const root = document.getElementById('card');
if (!root) throw new Error('the card template lost its #card element');
const card: HTMLElement = root;

const bridge = new HostBridge(window.parent, {
  toolResult(result) {
    renderCard(card, readCard(result), { enabled: bridge.canProposeMessages(), propose: (text) => bridge.proposeMessage(text) });
  },
  toolCancelled() {
    renderMessage(card, 'The lookup was cancelled.');
  },
  hostContext: applyHostContext,
});

/** Follows the host's theme and its CSS variables (only custom properties: CSSOM, never markup). */
function applyHostContext(context: McpUiHostContext): void {
  const rootStyle = document.documentElement;
  if (context.theme === 'dark' || context.theme === 'light') rootStyle.dataset.theme = context.theme;
  const variables = context.styles?.variables;
  if (!variables || typeof variables !== 'object') return;
  for (const [name, value] of Object.entries(variables)) {
    if (/^--[a-z0-9-]{1,64}$/.test(name) && typeof value === 'string' && value.length <= 200) rootStyle.style.setProperty(name, value);
  }
}

new ResizeObserver(() => bridge.reportSize(Math.ceil(document.documentElement.getBoundingClientRect().height))).observe(document.documentElement);

bridge.connect().catch(() => renderMessage(card, 'This card needs a host that speaks MCP Apps.'));
