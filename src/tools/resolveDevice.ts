import { parseUuid, type Uuid } from '../ids.js';
import { PingOneApiError } from '../pingone/errors.js';
import { ToolError } from './errors.js';
import { describeUser, summarizeDevice, type DeviceSummary, type UserSummary } from './output.js';
import { resolveUser, type ResolvedUser } from './resolveUser.js';
import type { ToolCall } from './runtime.js';

export interface ResolvedDevice {
  user: ResolvedUser;
  userSummary: UserSummary;
  deviceId: Uuid;
  device: DeviceSummary;
}

/**
 * Finds one MFA device of one user. The device ID is checked before any
 * request: nothing but a UUID ever reaches the URL.
 */
export async function resolveDevice(call: ToolCall, userText: string, deviceIdText: string): Promise<ResolvedDevice> {
  const deviceId = parseUuid(deviceIdText.trim());
  if (deviceId === undefined) {
    throw new ToolError('INVALID_INPUT', '`deviceId` must be the PingOne ID of the device (a UUID, 8-4-4-4-12 hex digits); do not guess it: list_user_devices shows the IDs.');
  }
  const { pingone } = call.deps;
  const user = await resolveUser(pingone, userText, call);
  const userSummary = call.user ?? { id: user.id, account: {} };
  try {
    call.device = summarizeDevice(call.observe(await pingone.getDevice(user.id, deviceId, call.scope)));
  } catch (error) {
    if (error instanceof PingOneApiError && error.status === 404) {
      throw new ToolError('DEVICE_NOT_FOUND', `${describeUser(userSummary)} has no MFA device with ID ${deviceId} in environment ${pingone.environmentId}. list_user_devices shows their devices.`);
    }
    throw error;
  }
  return { user, userSummary, deviceId, device: call.device };
}
