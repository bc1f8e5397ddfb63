import { McpServer } from '@modelcontextprotocol/server';
import { registerUnblockDeviceTool } from './tools/unblockDevice.js';
import { registerUnlockUserTool } from './tools/unlockUser.js';
import type { ToolDeps } from './tools/runtime.js';
import { SERVER_NAME, SERVER_VERSION } from './version.js';

/**
 * Builds one MCP server instance from its collaborators. `serveStdio` calls
 * this once per connection; nothing here is module-level state.
 */
export function createServer(deps: ToolDeps): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION, title: 'PingOne Helpdesk' },
    { capabilities: { tools: {} }, instructions: instructions(deps) },
  );
  registerUnlockUserTool(server, deps);
  registerUnblockDeviceTool(server, deps);
  return server;
}

function instructions(deps: ToolDeps): string {
  const where = deps.sandbox
    ? 'SANDBOX MODE: PingOne here is an embedded emulator with fictional demo users (for example jdoe, who is locked and has a blocked SMS device), not a real tenant; say so when you report results.'
    : `It acts on PingOne environment ${deps.pingone.environmentId}.`;
  return [
    `Helpdesk actions for PingOne users: unlock a locked account, unblock a blocked MFA device. ${where}`,
    'Work in this order: identify the user exactly as the person gave them (user ID, username or email), act, then report the result in one or two sentences.',
    'Never guess or invent user or device IDs; when a lookup matches several users, ask the person which one is meant.',
    'The tools read the current state first and change nothing when there is nothing to fix; relay their explanation instead of retrying.',
    'Pass the ticket number or justification as `reason`: every call is recorded in an audit trail, and the result carries its auditId.',
  ].join('\n');
}
