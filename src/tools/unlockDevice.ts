import { defineDeviceWrite } from './deviceWrite.js';
import { capitalize, describeDevice, UnlockDeviceOutputSchema } from './output.js';

export const unlockDeviceTool = defineDeviceWrite({
  name: 'unlock_device',
  title: "Unlock a user's temporarily locked MFA device",
  description:
    'Clears the temporary lock PingOne puts on an MFA device after too many failed attempts, and resets its failure counter. ' +
    'Reads the device first and changes nothing when it is not locked; a device an administrator blocked needs unblock_device instead.',
  output: UnlockDeviceOutputSchema,
  verb: 'Unlock',
  needsIt: (device) => device.lock.status === 'LOCKED',
  nothingToDo(device, who) {
    const blocked = device.block.status === 'BLOCKED' ? ' It is blocked by an administrator instead: unblock_device can lift that.' : '';
    return { outcome: 'not_locked', summary: `${capitalize(describeDevice(device))} of ${who} is not locked, so nothing was changed.${blocked}` };
  },
  write: 'unlockDevice',
  done(device, who) {
    const stillBlocked = device.block.status === 'BLOCKED' ? ' It is still blocked by an administrator; unblock_device can lift that.' : '';
    return { outcome: 'unlocked', summary: `Unlocked ${describeDevice(device)} of ${who}.${stillBlocked}` };
  },
});
