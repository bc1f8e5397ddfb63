import type { Guards } from '../config.js';
import { TOOL_ACCESS, type ToolName } from '../toolNames.js';
import type { ToolModule } from './definition.js';
import { findUserTool } from './findUser.js';
import { listUserDevicesTool } from './listUserDevices.js';
import { unblockDeviceTool } from './unblockDevice.js';
import { unlockDeviceTool } from './unlockDevice.js';
import { unlockUserTool } from './unlockUser.js';

/** Every tool by name: the type makes a name of `toolNames.ts` without a module (or the reverse) a compile error. */
const TOOLS: { readonly [N in ToolName]: ToolModule<N> } = {
  find_user: findUserTool,
  list_user_devices: listUserDevicesTool,
  unlock_user: unlockUserTool,
  unblock_device: unblockDeviceTool,
  unlock_device: unlockDeviceTool,
};

/** Every tool, in the catalog's order (look up, then act). */
export const ALL_TOOLS: readonly ToolModule[] = (Object.keys(TOOL_ACCESS) as ToolName[]).map((name) => TOOLS[name]);

/** The tools this configuration offers: read-only mode drops every write tool, whatever the allow-list says. */
export function offeredTools(guards: Guards): ToolModule[] {
  return ALL_TOOLS.filter((tool) => (!guards.readOnly || tool.access === 'read') && (guards.tools === undefined || guards.tools.has(tool.name)));
}
