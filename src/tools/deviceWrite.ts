import { z } from 'zod';
import type { Uuid } from '../ids.js';
import type { PingOneApi, Reply } from '../pingone/client.js';
import type { Device } from '../pingone/model.js';
import type { CallScope } from '../pingone/http.js';
import type { WriteToolName } from '../toolNames.js';
import { defineTool, type ToolModule } from './definition.js';
import { checkTarget } from './guards.js';
import { deviceIdArgument, dryRunArgument, reasonArgument, userArgument } from './inputs.js';
import { describeDevice, describeUser, summarizeDevice, type DeviceSummary } from './output.js';
import { resolveDevice } from './resolveDevice.js';
import type { Completed } from './runtime.js';
import { givenReason, guardedWrite } from './write.js';

/** What distinguishes one device write from another; the path they take is the same. */
export interface DeviceWriteSpec {
  name: WriteToolName;
  title: string;
  description: string;
  output: z.ZodObject;
  /** "Unblock" / "Unlock": the question and the dry run start with it. */
  verb: string;
  /** Whether the device is in the state this tool fixes. */
  needsIt(device: DeviceSummary): boolean;
  /** The answer when it is not, in which nothing is written. */
  nothingToDo(device: DeviceSummary, who: string): Completed;
  send(api: PingOneApi, userId: Uuid, deviceId: Uuid, scope: CallScope): Promise<Reply<Device>>;
  done(device: DeviceSummary, who: string): Completed;
}

export function defineDeviceWrite(spec: DeviceWriteSpec): ToolModule {
  return defineTool({
    name: spec.name,
    access: 'write',
    title: spec.title,
    description: spec.description,
    input: z.strictObject({ user: userArgument, deviceId: deviceIdArgument, reason: reasonArgument, dryRun: dryRunArgument }),
    output: spec.output,
    async run(args, call) {
      const { pingone, guards } = call.deps;
      const { user, userSummary, deviceId, device } = await resolveDevice(call, args.user, args.deviceId);
      checkTarget(guards, userSummary);
      const who = describeUser(userSummary);
      if (!spec.needsIt(device)) return spec.nothingToDo(device, who);
      return guardedWrite(call, {
        action: { tool: spec.name, userId: user.id, deviceId, ...(args.reason === undefined ? {} : { reason: args.reason }) },
        question: `${spec.verb} ${describeDevice(device)} of ${describeUser(userSummary, { population: true })}?${givenReason(args.reason)}`,
        change: `${spec.verb.toLowerCase()} ${describeDevice(device)} of ${who}`,
        dryRun: args.dryRun === true,
        async perform() {
          call.device = summarizeDevice(call.observe(await spec.send(pingone, user.id, deviceId, call.scope)));
          return spec.done(call.device, who);
        },
      });
    },
  });
}
