import { TOOL_ACCESS, type ToolName } from '../toolNames.js';
import type { ToolModule } from './definition.js';
import { findUserTool } from './findUser.js';
import { listUserDevicesTool } from './listUserDevices.js';
import { unblockDeviceTool } from './unblockDevice.js';
import { unlockDeviceTool } from './unlockDevice.js';
import { unlockUserTool } from './unlockUser.js';

/**
 * Every tool module by name, loaded at the first call (register.ts); what
 * clients are shown before that is the listing made from them (listing.ts).
 * The type makes a name of `toolNames.ts` without a module (or the reverse) a compile error.
 */
export const TOOLS: { readonly [N in ToolName]: ToolModule<N> } = {
  find_user: findUserTool,
  list_user_devices: listUserDevicesTool,
  unlock_user: unlockUserTool,
  unblock_device: unblockDeviceTool,
  unlock_device: unlockDeviceTool,
};

/** Every tool, in the catalog's order (look up, then act). */
export const ALL_TOOLS: readonly ToolModule[] = (Object.keys(TOOL_ACCESS) as ToolName[]).map((name) => TOOLS[name]);
