import { z } from 'zod';
import type { Uuid } from '../ids.js';
import type { PingOneApi, Reply } from '../pingone/client.js';
import type { CallScope } from '../pingone/http.js';
import type { DeviceRecord } from '../pingone/records.js';
import type { WriteToolName } from '../toolNames.js';
import { defineTool, type ToolModule } from './definition.js';
import { deviceIdArgument, dryRunArgument, reasonArgument, userArgument } from './inputs.js';
import { describeDevice, describeUser, identifyDevice, identifyUser, summarizeDevice, type DeviceSummary } from './output.js';
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
  send(api: PingOneApi, userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<DeviceRecord>>;
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
          action: { tool: spec.name, userId: user.identity.id, deviceId: found.device.id, ...(args.reason === undefined ? {} : { reason: args.reason }) },
          subject,
          question: `${spec.verb} ${identifyDevice(device)} of the account ${identifyUser(summary)}?${givenReason(args.reason)}`,
          change: `${spec.verb.toLowerCase()} ${describeDevice(device)} of ${who}`,
          dryRun: args.dryRun === true,
          async perform() {
            const after = summarizeDevice(call.observe(await spec.send(call.deps.pingone, user.identity.id, found.device.id, call.scope)));
            return { ...spec.done(after, who), target, details: { user: summary, device: after } };
          },
        });
      });
    },
  });
}
