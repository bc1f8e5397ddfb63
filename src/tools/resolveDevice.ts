import { parseUuid, type Uuid } from '../ids.js';
import type { DeviceRecord } from '../pingone/records.js';
import { ToolError } from './errors.js';
import { describeUser, summarizeDevice, type DeviceSummary } from './output.js';
import { orNotFound, resolveUser, type FoundTarget } from './resolveUser.js';
import type { Call } from './call.js';

export interface FoundDevice extends FoundTarget {
  device: DeviceRecord;
  deviceSummary: DeviceSummary;
}

/** The device ID, checked before any request: nothing but a UUID ever reaches the URL. */
export function deviceIdOf(text: string): Uuid {
  const deviceId = parseUuid(text.trim());
  if (deviceId === undefined) {
    throw new ToolError('INVALID_INPUT', '`deviceId` must be the PingOne ID of the device (a UUID, 8-4-4-4-12 hex digits); do not guess it: list_user_devices shows the IDs.');
  }
  return deviceId;
}

/** Finds one MFA device of one user; the target names both. */
export async function resolveDevice(call: Call, userText: string, deviceIdText: string): Promise<FoundDevice> {
  const deviceId = deviceIdOf(deviceIdText);
  const found = await resolveUser(call, userText);
  const { pingone } = call.deps;
  const userTarget = { ...found.target, deviceId };
  const device = await call.within({ target: userTarget, details: { user: found.summary } }, async () => {
    const answer = await orNotFound(call, () => pingone.getDevice(found.user.identity.id, deviceId, call.scope));
    if ('notFound' in answer) {
      throw new ToolError('DEVICE_NOT_FOUND', `${describeUser(found.summary)} has no MFA device with ID ${deviceId} in environment ${pingone.environmentId}. list_user_devices shows their devices.`, {}, { cause: answer.notFound });
    }
    return answer.found;
  });
  const deviceSummary = summarizeDevice(device);
  return { ...found, target: { ...found.target, deviceId, deviceType: deviceSummary.type }, device, deviceSummary };
}
