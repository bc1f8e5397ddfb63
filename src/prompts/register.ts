import type { McpServer } from '@modelcontextprotocol/server';
import { FlowArgumentsSchema } from './arguments.js';
import { flowText, offeredFlows, type FlowSetting } from './flows.js';

/**
 * Adds the helpdesk flows this configuration can run as MCP prompts. Their
 * arguments get no completion: suggesting users would be a PingOne read per
 * keystroke, outside any audited tool call.
 */
export function registerPrompts(server: McpServer, setting: FlowSetting): void {
  for (const flow of offeredFlows(setting)) {
    server.registerPrompt(flow.name, { title: flow.title, description: flow.description, argsSchema: FlowArgumentsSchema }, (args) => ({
      description: flow.title,
      messages: [{ role: 'user', content: { type: 'text', text: flowText(flow, args, setting) } }],
    }));
  }
}
