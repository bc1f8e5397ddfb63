import * as z from 'zod';
import { defineTool } from './definition.js';
import { denialNote, targetDenial } from './guards.js';
import { userArgument } from './inputs.js';
import { describeDevice, describeUser, ListUserDevicesOutputSchema, summarizeDevice, until, type DeviceSummary, type ListedDevice } from './output.js';
import { resolveUser } from './resolveUser.js';

export const listUserDevicesTool = defineTool({
  name: 'list_user_devices',
  title: "List a user's MFA devices",
  description:
    "Lists a PingOne user's MFA devices with their type, nickname, masked phone or email, and whether each is blocked (unblock_device) or temporarily locked (unlock_device). Changes nothing.",
  input: z.strictObject({ user: userArgument }),
  output: ListUserDevicesOutputSchema,
  async run(args, call) {
    const { user, summary: owner, target } = await resolveUser(call, args.user);
    const subject = { target, details: { user: owner } };
    return call.within(subject, async () => {
      // A device of a user the guards protect cannot be fixed here: say so instead of naming a tool.
      const note = denialNote(targetDenial(call.deps.guards, user));
      const devices = call.observe(await call.deps.pingone.listDevices(user.identity.id, call.scope)).map((record): ListedDevice => {
        const device = summarizeDevice(record);
        return { ...device, nextStep: nextStep(device, note) };
      });
      const who = describeUser(owner);
      const needing = devices.filter((d) => d.block.status === 'BLOCKED' || d.lock.status === 'LOCKED');
      const listed =
        devices.length === 0
          ? `${who} has no MFA devices.`
          : `${who} has ${devices.length} MFA device${devices.length === 1 ? '' : 's'}; ${needing.length === 0 ? 'none is blocked or locked' : needing.map((d) => `${describeDevice(d)} is ${d.block.status === 'BLOCKED' ? 'blocked' : 'locked'}`).join(', ')}.`;
      const summary = note && needing.length > 0 ? `${listed} This account is ${note}.` : listed;
      return { outcome: 'listed' as const, summary, target, details: { user: owner, devices } };
    });
  },
});

function nextStep(device: DeviceSummary, denied: string | undefined): string {
  const fix = device.block.status === 'BLOCKED' ? 'blocked by an administrator: unblock_device can lift it' : device.lock.status === 'LOCKED' ? `temporarily locked${until(device)} after failed attempts: unlock_device clears it now` : undefined;
  if (fix !== undefined && denied !== undefined) return `${fix.split(':')[0]}; ${denied}`;
  if (fix !== undefined) return fix;
  if (device.status === 'ACTIVATION_REQUIRED') return 'not activated yet: the user must finish enrolling it';
  return 'usable: nothing to fix';
}
