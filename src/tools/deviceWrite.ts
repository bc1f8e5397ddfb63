import * as z from 'zod';
import type { WriteToolName } from '../toolNames.js';
import { defineTool, type ToolModule } from './definition.js';
import { deviceIdArgument, dryRunArgument, reasonArgument, userArgument } from './inputs.js';
import { describeDevice, describeUser, identifyDevice, identifyUser, summarizeDevice, type DeviceSummary } from './output.js';
import { deviceAfter, notApplied } from './readBack.js';
import { resolveDevice } from './resolveDevice.js';
import { givenReason, guardedWrite, refuseUnwritable } from './write.js';

/** A sentence and the outcome it reports; the write path adds the target and details. */
export interface Said {
  outcome: 'unlocked' | 'not_locked' | 'unblocked' | 'not_blocked';
  summary: string;
}

/** What distinguishes one device write from another; the path they take is the same. */
export interface DeviceWriteSpec<N extends WriteToolName> {
  name: N;
  title: string;
  description: string;
  output: z.ZodObject;
  /** "Unblock" / "Unlock": the question and the dry run start with it. */
  verb: string;
  /** Whether the device is in the state this tool fixes. */
  needsIt(device: DeviceSummary): boolean;
  /** The answer when it is not, in which nothing is written. */
  nothingToDo(device: DeviceSummary, who: string): Said;
  /** The PingOne write that fixes it. */
  write: 'unblockDevice' | 'unlockDevice';
  done(device: DeviceSummary, who: string): Said;
}

export function defineDeviceWrite<N extends WriteToolName>(spec: DeviceWriteSpec<N>): ToolModule<N> {
  return defineTool({
    name: spec.name,
    title: spec.title,
    description: spec.description,
    input: z.strictObject({ user: userArgument, deviceId: deviceIdArgument, reason: reasonArgument, dryRun: dryRunArgument }),
    output: spec.output,
    async run(args, call) {
      const found = await resolveDevice(call, args.user, args.deviceId);
      const { user, summary, deviceSummary: device, target } = found;
      const subject = { target, details: { user: summary, device } };
      return call.within(subject, async () => {
        refuseUnwritable(call, user);
        const who = describeUser(summary);
        if (!spec.needsIt(device)) return { ...spec.nothingToDo(device, who), ...subject };
        return guardedWrite(call, {
          action: { tool: spec.name, userId: user.identity.id, deviceId: found.device.id, writes: [spec.write], ...(args.reason === undefined ? {} : { reason: args.reason }) },
          subject,
          question: `${spec.verb} ${identifyDevice(device)} of the account ${identifyUser(summary)}?${givenReason(args.reason)}`,
          change: `${spec.verb.toLowerCase()} ${describeDevice(device)} of ${who}`,
          dryRun: args.dryRun === true,
          async perform(send) {
            const ids = { userId: user.identity.id, deviceId: found.device.id };
            // Any 2xx counts; the state PingOne holds afterwards (the body, or one read) says whether it took.
            const after = summarizeDevice(await deviceAfter(call, ids.userId, ids.deviceId, await send({ kind: spec.write, ...ids })));
            if (spec.needsIt(after)) throw notApplied(`${spec.verb.toLowerCase()} ${describeDevice(device)} of ${who}`);
            return { ...spec.done(after, who), target, details: { user: summary, device: after } };
          },
        });
      });
    },
  });
}
