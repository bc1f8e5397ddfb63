import { z } from 'zod';
import { defineTool } from './definition.js';
import { checkTarget } from './guards.js';
import { deviceIdArgument, dryRunArgument, reasonArgument, userArgument } from './inputs.js';
import { capitalize, describeDevice, describeUser, summarizeDevice, UnlockDeviceOutputSchema, until } from './output.js';
import { resolveDevice } from './resolveDevice.js';
import { guardedWrite } from './write.js';

export const unlockDeviceTool = defineTool({
  name: 'unlock_device',
  access: 'write',
  title: "Unlock a user's temporarily locked MFA device",
  description:
    "Clears the temporary lock PingOne puts on an MFA device after too many failed attempts, and resets its failure counter. " +
    'Reads the device first and changes nothing when it is not locked; a device an administrator blocked needs unblock_device instead.',
  input: z.strictObject({ user: userArgument, deviceId: deviceIdArgument, reason: reasonArgument, dryRun: dryRunArgument }),
  output: UnlockDeviceOutputSchema,
  async run(args, call) {
    const { pingone, guards } = call.deps;
    const { user, userSummary, deviceId, device } = await resolveDevice(call, args.user, args.deviceId);
    checkTarget(guards, userSummary);
    const who = describeUser(userSummary);
    if (device.lock.status !== 'LOCKED') {
      const blocked = device.block.status === 'BLOCKED' ? ' It is blocked by an administrator instead: unblock_device can lift that.' : '';
      return { outcome: 'not_locked', summary: `${capitalize(describeDevice(device))} of ${who} is not locked, so nothing was changed.${blocked}` };
    }
    return guardedWrite(call, {
      action: { tool: 'unlock_device', userId: user.id, deviceId, ...(args.reason === undefined ? {} : { reason: args.reason }) },
      question: `Unlock ${describeDevice(device)} of ${describeUser(userSummary, { population: true })} (locked${until(device)})?${args.reason ? ` Reason: ${args.reason}` : ''}`,
      change: `unlock ${describeDevice(device)} of ${who}`,
      dryRun: args.dryRun === true,
      async perform() {
        const after = summarizeDevice(call.observe(await pingone.unlockDevice(user.id, deviceId, call.scope)));
        call.device = after;
        const stillBlocked = after.block.status === 'BLOCKED' ? ' It is still blocked by an administrator; unblock_device can lift that.' : '';
        return { outcome: 'unlocked', summary: `Unlocked ${describeDevice(after)} of ${who}.${stillBlocked}` };
      },
    });
  },
});
