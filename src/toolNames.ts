/** Every tool this server can offer, by access. Read-only mode keeps only the first group. */
export const READ_TOOL_NAMES = ['find_user', 'list_user_devices'] as const;
export const WRITE_TOOL_NAMES = ['unlock_user', 'unblock_device', 'unlock_device'] as const;
export const TOOL_NAMES = [...READ_TOOL_NAMES, ...WRITE_TOOL_NAMES] as const;

export type ReadToolName = (typeof READ_TOOL_NAMES)[number];
export type WriteToolName = (typeof WRITE_TOOL_NAMES)[number];
export type ToolName = (typeof TOOL_NAMES)[number];
