import type { Guards } from '../config.js';
import type { ToolModule } from './definition.js';
import { findUserTool } from './findUser.js';
import { listUserDevicesTool } from './listUserDevices.js';
import { unblockDeviceTool } from './unblockDevice.js';
import { unlockDeviceTool } from './unlockDevice.js';
import { unlockUserTool } from './unlockUser.js';

/** Every tool, in the order clients list them: look up, then act. */
export const ALL_TOOLS: readonly ToolModule[] = [findUserTool, listUserDevicesTool, unlockUserTool, unblockDeviceTool, unlockDeviceTool];

/** The tools this configuration offers: read-only mode drops every write tool, whatever the allow-list says. */
export function offeredTools(guards: Guards): ToolModule[] {
  return ALL_TOOLS.filter((tool) => (!guards.readOnly || tool.access === 'read') && (guards.tools === undefined || guards.tools.has(tool.name)));
}
