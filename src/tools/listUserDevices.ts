import { z } from 'zod';
import { defineTool } from './definition.js';
import { userArgument } from './inputs.js';
import { describeDevice, describeUser, ListUserDevicesOutputSchema, summarizeDevice, until, type DeviceSummary, type ListedDevice } from './output.js';
import { resolveUser } from './resolveUser.js';

export const listUserDevicesTool = defineTool({
  name: 'list_user_devices',
  access: 'read',
  title: "List a user's MFA devices",
  description:
    "Lists a PingOne user's MFA devices with their type, nickname, masked phone or email, and whether each is blocked (unblock_device) or temporarily locked (unlock_device). Changes nothing.",
  input: z.strictObject({ user: userArgument }),
  output: ListUserDevicesOutputSchema,
  async run(args, call) {
    const { pingone } = call.deps;
    const user = await resolveUser(pingone, args.user, call);
    const devices = call.observe(await pingone.listDevices(user.id, call.scope)).map((raw): ListedDevice => {
      const device = summarizeDevice(raw);
      return { ...device, nextStep: nextStep(device) };
    });
    const who = describeUser(call.user ?? { id: user.id, account: {} });
    const needing = devices.filter((d) => d.block.status === 'BLOCKED' || d.lock.status === 'LOCKED');
    const summary =
      devices.length === 0
        ? `${who} has no MFA devices.`
        : `${who} has ${devices.length} MFA device${devices.length === 1 ? '' : 's'}; ${needing.length === 0 ? 'none is blocked or locked' : needing.map((d) => `${describeDevice(d)} is ${d.block.status === 'BLOCKED' ? 'blocked' : 'locked'}`).join(', ')}.`;
    return { outcome: 'listed', summary, details: { devices } };
  },
});

function nextStep(device: DeviceSummary): string {
  if (device.block.status === 'BLOCKED') return 'blocked by an administrator: unblock_device can lift it';
  if (device.lock.status === 'LOCKED') return `temporarily locked${until(device)} after failed attempts: unlock_device clears it now`;
  if (device.status === 'ACTIVATION_REQUIRED') return 'not activated yet: the user must finish enrolling it';
  return 'usable: nothing to fix';
}
