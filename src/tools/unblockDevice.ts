import { defineDeviceWrite } from './deviceWrite.js';
import { capitalize, describeDevice, UnblockDeviceOutputSchema, until } from './output.js';

export const unblockDeviceTool = defineDeviceWrite({
  name: 'unblock_device',
  title: "Unblock a user's MFA device",
  description:
    "Unblocks one of a PingOne user's MFA devices (SMS, email, authenticator app, …) that an administrator blocked. " +
    'Reads the device first and changes nothing when it is not blocked; a device that is only temporarily locked after failed attempts is reported as such, since unblocking does not clear a lock (unlock_device does).',
  output: UnblockDeviceOutputSchema,
  verb: 'Unblock',
  needsIt: (device) => device.block.status === 'BLOCKED',
  nothingToDo(device, who) {
    const what = `${capitalize(describeDevice(device))} of ${who}`;
    if (device.lock.status === 'LOCKED') {
      return {
        outcome: 'not_blocked',
        summary: `${what} is not blocked but temporarily locked${until(device)} after failed attempts; unblocking does not clear a lock, so nothing was changed. unlock_device clears the lock now; otherwise it clears by itself when it expires.`,
      };
    }
    return { outcome: 'not_blocked', summary: `${what} is not blocked (block status ${device.block.status ?? 'unknown'}), so nothing was changed.` };
  },
  write: 'unblockDevice',
  done(device, who) {
    const stillLocked = device.lock.status === 'LOCKED' ? ` It is still temporarily locked${until(device)} after failed attempts; unlock_device can clear that.` : '';
    return { outcome: 'unblocked', summary: `Unblocked ${describeDevice(device)} of ${who}.${stillLocked}` };
  },
});
