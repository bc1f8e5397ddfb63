// The host side of a test page, in the browser: it embeds the card as MCP Apps hosts do (a sandboxed
// iframe without same-origin rights) and speaks to it with the package's own host implementation,
// AppBridge, over postMessage. Each card gets one real tool result. ui/message requests are kept for
// the test to read; nothing is ever called on the server from here.
import { AppBridge, PostMessageTransport, type McpUiMessageRequest } from '@modelcontextprotocol/ext-apps/app-bridge';
import type { CallToolResult } from '@modelcontextprotocol/client';

interface ShownCard {
  title: string;
  toolName: string;
  toolArguments: Record<string, unknown>;
  result: CallToolResult;
  theme: 'light' | 'dark';
}

const messages: Array<McpUiMessageRequest['params']> = [];
const sizes: number[] = [];

async function showCard(html: string, card: ShownCard): Promise<void> {
  const figure = document.createElement('figure');
  const caption = document.createElement('figcaption');
  caption.textContent = card.title;
  const frame = document.createElement('iframe');
  frame.setAttribute('sandbox', 'allow-scripts');
  frame.dataset.tool = card.toolName;
  frame.srcdoc = html;
  figure.append(caption, frame);
  document.getElementById('cards')?.append(figure);
  const view = frame.contentWindow;
  if (!view) throw new Error('the card frame has no window');

  const bridge = new AppBridge(
    null,
    { name: 'card-test-host', version: '1.0.0' },
    { message: { text: {} } },
    { hostContext: { theme: card.theme, displayMode: 'inline', toolInfo: { tool: { name: card.toolName, inputSchema: { type: 'object' } } } } },
  );
  bridge.onmessage = async (params) => {
    messages.push(params);
    return {};
  };
  bridge.onsizechange = ({ height }) => {
    if (height === undefined) return;
    sizes.push(height);
    frame.style.height = `${height}px`;
  };
  const initialized = new Promise<void>((resolve) => {
    bridge.oninitialized = () => resolve();
  });
  await bridge.connect(new PostMessageTransport(view, view));
  await initialized;
  await bridge.sendToolInput({ arguments: card.toolArguments });
  await bridge.sendToolResult(card.result);
}

Object.assign(window, { showCard, cardMessages: () => messages, cardSizes: () => sizes });
