import type {
  McpUiHostCapabilities,
  McpUiHostContext,
  McpUiInitializeRequest,
  McpUiInitializeResult,
  McpUiMessageRequest,
  McpUiSizeChangedNotification,
} from '@modelcontextprotocol/ext-apps';
import { isObject } from './read.js';

/**
 * The view's side of the MCP Apps protocol (JSON-RPC over postMessage with the
 * host), reduced to what a read-only card needs: initialize, receive the tool
 * result and host context, report its height, and propose a message.
 *
 * Why not the package's `App` class: it brings the MCP client and zod along,
 * 650 KB minified, for a card whose whole script is a few KB. The message
 * types are the package's own (type-only imports, erased from the bundle), and
 * the tests drive this bridge with the package's host side (`AppBridge`).
 */

/** The protocol revision this view speaks (the package's LATEST_PROTOCOL_VERSION when written). */
const PROTOCOL_VERSION: McpUiInitializeRequest['params']['protocolVersion'] = '2026-01-26';
const APP_INFO: McpUiInitializeRequest['params']['appInfo'] = { name: 'pingone-helpdesk-user-status', version: '1' };

export interface BridgeEvents {
  toolResult(result: unknown): void;
  toolCancelled(reason: string | undefined): void;
  hostContext(context: McpUiHostContext): void;
}

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

export class HostBridge {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private hostCapabilities: McpUiHostCapabilities = {};

  constructor(
    private readonly host: Window,
    private readonly events: BridgeEvents,
  ) {
    window.addEventListener('message', (event) => {
      // Only the host that embeds us speaks for the conversation; a message from anywhere else is ignored.
      if (event.source !== this.host) return;
      this.receive(event.data);
    });
  }

  async connect(): Promise<McpUiInitializeResult> {
    const params: McpUiInitializeRequest['params'] = { appInfo: APP_INFO, appCapabilities: {}, protocolVersion: PROTOCOL_VERSION };
    const result = (await this.request('ui/initialize', params)) as McpUiInitializeResult;
    this.hostCapabilities = isObject(result) && isObject(result.hostCapabilities) ? result.hostCapabilities : {};
    if (isObject(result) && isObject(result.hostContext)) this.events.hostContext(result.hostContext);
    this.notify('ui/notifications/initialized', {});
    return result;
  }

  /** Whether the host takes `ui/message` from views (a proposal needs it). */
  canProposeMessages(): boolean {
    return this.hostCapabilities.message !== undefined;
  }

  /**
   * Puts a message in the conversation as if the person had typed it. It is a
   * proposal to the assistant, nothing more: the write, its guards and the
   * person's confirmation all stay with the server.
   */
  async proposeMessage(text: string): Promise<boolean> {
    const params: McpUiMessageRequest['params'] = { role: 'user', content: [{ type: 'text', text }] };
    const result = await this.request('ui/message', params);
    return !(isObject(result) && result.isError === true);
  }

  reportSize(height: number): void {
    const params: McpUiSizeChangedNotification['params'] = { height };
    this.notify('ui/notifications/size-changed', params);
  }

  private request(method: string, params: object): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.host.postMessage({ jsonrpc: '2.0', id, method, params }, '*');
    });
  }

  private notify(method: string, params: object): void {
    this.host.postMessage({ jsonrpc: '2.0', method, params }, '*');
  }

  private receive(data: unknown): void {
    if (!isObject(data) || data.jsonrpc !== '2.0') return;
    const { id, method } = data;
    if (typeof method !== 'string') {
      if (typeof id !== 'number') return;
      const waiting = this.pending.get(id);
      if (!waiting) return;
      this.pending.delete(id);
      if (isObject(data.error)) waiting.reject(new Error(typeof data.error.message === 'string' ? data.error.message : 'the host refused'));
      else waiting.resolve(data.result);
      return;
    }
    const params = isObject(data.params) ? data.params : {};
    if (id !== undefined) {
      this.answer(id, method);
      return;
    }
    if (method === 'ui/notifications/tool-result') this.events.toolResult(params);
    else if (method === 'ui/notifications/tool-cancelled') this.events.toolCancelled(typeof params.reason === 'string' ? params.reason : undefined);
    else if (method === 'ui/notifications/host-context-changed') this.events.hostContext(params);
  }

  /** Requests from the host: teardown and ping need nothing from a card; everything else is not offered. */
  private answer(id: unknown, method: string): void {
    if (method === 'ui/resource-teardown' || method === 'ping') {
      this.host.postMessage({ jsonrpc: '2.0', id, result: {} }, '*');
    } else {
      this.host.postMessage({ jsonrpc: '2.0', id, error: { code: -32601, message: `Method not found: ${method.slice(0, 80)}` } }, '*');
    }
  }
}
