import { z } from 'zod';
import { defineTool } from './definition.js';
import { checkTarget } from './guards.js';
import { deviceIdArgument, dryRunArgument, reasonArgument, userArgument } from './inputs.js';
import { capitalize, describeDevice, describeUser, summarizeDevice, UnblockDeviceOutputSchema, until, type DeviceSummary } from './output.js';
import { resolveDevice } from './resolveDevice.js';
import { guardedWrite } from './write.js';

export const unblockDeviceTool = defineTool({
  name: 'unblock_device',
  access: 'write',
  title: "Unblock a user's MFA device",
  description:
    "Unblocks one of a PingOne user's MFA devices (SMS, email, authenticator app, …) that an administrator blocked. " +
    'Reads the device first and changes nothing when it is not blocked; a device that is only temporarily locked after failed attempts is reported as such, since unblocking does not clear a lock (unlock_device does).',
  input: z.strictObject({ user: userArgument, deviceId: deviceIdArgument, reason: reasonArgument, dryRun: dryRunArgument }),
  output: UnblockDeviceOutputSchema,
  async run(args, call) {
    const { pingone, guards } = call.deps;
    const { user, userSummary, deviceId, device } = await resolveDevice(call, args.user, args.deviceId);
    checkTarget(guards, userSummary);
    const who = describeUser(userSummary);
    if (device.block.status !== 'BLOCKED') return { outcome: 'not_blocked', summary: notBlockedSummary(who, device) };
    return guardedWrite(call, {
      action: { tool: 'unblock_device', userId: user.id, deviceId, ...(args.reason === undefined ? {} : { reason: args.reason }) },
      question: `Unblock ${describeDevice(device)} of ${describeUser(userSummary, { population: true })}?${args.reason ? ` Reason: ${args.reason}` : ''}`,
      change: `unblock ${describeDevice(device)} of ${who}`,
      dryRun: args.dryRun === true,
      async perform() {
        const after = summarizeDevice(call.observe(await pingone.unblockDevice(user.id, deviceId, call.scope)));
        call.device = after;
        const stillLocked = after.lock.status === 'LOCKED' ? ` It is still temporarily locked${until(after)} after failed attempts; unlock_device can clear that.` : '';
        return { outcome: 'unblocked', summary: `Unblocked ${describeDevice(after)} of ${who}.${stillLocked}` };
      },
    });
  },
});

function notBlockedSummary(who: string, device: DeviceSummary): string {
  const what = `${capitalize(describeDevice(device))} of ${who}`;
  if (device.lock.status === 'LOCKED') {
    return `${what} is not blocked but temporarily locked${until(device)} after failed attempts; unblocking does not clear a lock, so nothing was changed. unlock_device clears the lock now; otherwise it clears by itself when it expires.`;
  }
  return `${what} is not blocked (block status ${device.block.status ?? 'unknown'}), so nothing was changed.`;
}
