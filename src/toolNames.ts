/**
 * The tool catalog's one truth about names and access: every tool this server
 * can offer, in the order clients list them, and whether it reads or writes.
 * Config validates PINGONE_MCP_TOOLS against the names; read-only mode and the
 * annotations follow the access; each tool module takes its access from here.
 */
export const TOOL_ACCESS = {
  find_user: 'read',
  list_user_devices: 'read',
  unlock_user: 'write',
  unblock_device: 'write',
  unlock_device: 'write',
} as const;

export type ToolName = keyof typeof TOOL_ACCESS;
export type Access = (typeof TOOL_ACCESS)[ToolName];
export type WriteToolName = { [N in ToolName]: (typeof TOOL_ACCESS)[N] extends 'write' ? N : never }[ToolName];
export type ReadToolName = Exclude<ToolName, WriteToolName>;

export const TOOL_NAMES = Object.keys(TOOL_ACCESS) as ToolName[];

export function isToolName(name: string): name is ToolName {
  return Object.hasOwn(TOOL_ACCESS, name);
}
