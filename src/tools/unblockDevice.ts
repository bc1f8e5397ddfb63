import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { parseUuid } from '../ids.js';
import { PingOneApiError } from '../pingone/errors.js';
import { RESTORATIVE_WRITE } from './annotations.js';
import { ToolError } from './errors.js';
import { deviceIdArgument, reasonArgument, userArgument } from './inputs.js';
import { describeDevice, describeUser, summarizeDevice, UnblockDeviceOutputSchema, type DeviceSummary } from './output.js';
import { resolveUser } from './resolveUser.js';
import { describeClient, runTool, type Completed, type ToolDeps } from './runtime.js';

export const UnblockDeviceInputSchema = z.strictObject({ user: userArgument, deviceId: deviceIdArgument, reason: reasonArgument });

export function registerUnblockDeviceTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'unblock_device',
    {
      title: "Unblock a user's MFA device",
      description:
        "Unblocks one of a PingOne user's MFA devices (SMS, email, authenticator app, …) that an administrator blocked. " +
        'Reads the device first and changes nothing when it is not blocked; a device that is only temporarily locked after failed attempts is reported as such, since unblocking does not clear a lock.',
      inputSchema: UnblockDeviceInputSchema,
      outputSchema: UnblockDeviceOutputSchema,
      annotations: RESTORATIVE_WRITE,
    },
    (args, ctx) =>
      runTool(
        deps,
        { tool: 'unblock_device', client: describeClient(server, ctx), reason: args.reason, signal: ctx.mcpReq.signal },
        async (call): Promise<Completed> => {
          const deviceId = parseUuid(args.deviceId.trim());
          if (deviceId === undefined) {
            throw new ToolError('INVALID_INPUT', '`deviceId` must be the PingOne ID of the device (a UUID, 8-4-4-4-12 hex digits); do not guess it, read it from PingOne.');
          }
          const user = await resolveUser(deps.pingone, args.user, call);
          const who = describeUser(call.user ?? { id: user.id, account: {} });
          let before: DeviceSummary;
          try {
            before = summarizeDevice(call.observe(await deps.pingone.getDevice(user.id, deviceId, call.scope)));
          } catch (error) {
            if (error instanceof PingOneApiError && error.status === 404) {
              throw new ToolError('DEVICE_NOT_FOUND', `${who} has no MFA device with ID ${deviceId} in environment ${deps.pingone.environmentId}. Check the device ID against the user's devices.`);
            }
            throw error;
          }
          call.device = before;
          if (before.block.status !== 'BLOCKED') return { outcome: 'not_blocked', summary: notBlockedSummary(who, before) };
          call.recordIntent();
          const after = summarizeDevice(call.observe(await deps.pingone.unblockDevice(user.id, deviceId, call.scope)));
          call.device = after;
          const stillLocked = after.lock.status === 'LOCKED' ? ` It is still temporarily locked${until(after)} after failed attempts.` : '';
          return { outcome: 'unblocked', summary: `Unblocked ${describeDevice(after)} of ${who}.${stillLocked}` };
        },
      ),
  );
}

function notBlockedSummary(who: string, device: DeviceSummary): string {
  const what = `${capitalize(describeDevice(device))} of ${who}`;
  if (device.lock.status === 'LOCKED') {
    return `${what} is not blocked but temporarily locked${until(device)} after failed attempts; unblocking does not clear a lock, so nothing was changed. The lock clears by itself when it expires.`;
  }
  return `${what} is not blocked (block status ${device.block.status ?? 'unknown'}), so nothing was changed.`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function until(device: DeviceSummary): string {
  return device.lock.expiresAt ? ` until ${device.lock.expiresAt}` : '';
}
