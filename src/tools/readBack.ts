import type { Uuid } from '../ids.js';
import type { PasswordStateRead, WriteAnswer } from '../pingone/client.js';
import type { PasswordState } from '../pingone/model.js';
import type { DeviceRecord, UserRecord } from '../pingone/records.js';
import type { Call } from './call.js';
import { ToolError } from './errors.js';

/**
 * The state a write left in PingOne. PingOne's definitions type no write's
 * answer, so any 2xx counts: its body when it is the object asked about,
 * otherwise one GET. Whether the change took is then read from that state,
 * never from the status code alone.
 */

export async function userAfter(call: Call, userId: Uuid, answer: WriteAnswer<UserRecord>): Promise<UserRecord> {
  if (answer.body === 'resource' && answer.data.identity.id === userId) return answer.data;
  return call.observe(await call.deps.pingone.getUser(userId, call.scope));
}

export async function deviceAfter(call: Call, userId: Uuid, deviceId: Uuid, answer: WriteAnswer<DeviceRecord>): Promise<DeviceRecord> {
  if (answer.body === 'resource' && answer.data.id === deviceId) return answer.data;
  return call.observe(await call.deps.pingone.getDevice(userId, deviceId, call.scope));
}

/** After Password Unlock: its body when it is a password state, otherwise one read (which may itself be unknown). */
export async function passwordAfter(call: Call, userId: Uuid, answer: WriteAnswer<PasswordState>): Promise<PasswordStateRead> {
  if (answer.body === 'resource') return { known: true, state: answer.data, status: answer.status, correlationId: answer.correlationId };
  return observePassword(call, await call.deps.pingone.getPasswordState(userId, call.scope));
}

/** A password read, its PingOne answer kept for the audit like any other read. */
export function observePassword(call: Call, read: PasswordStateRead): PasswordStateRead {
  if (read.known) call.observe({ data: read.state, status: read.status, correlationId: read.correlationId });
  return read;
}

/** PingOne answered 2xx but the state read back is unchanged: the one case a successful write is a failure. */
export function notApplied(what: string): ToolError {
  return new ToolError(
    'WRITE_NOT_APPLIED',
    `PingOne accepted the request to ${what}, but the state it now holds is unchanged. Nothing else was sent; an administrator should check the user in the PingOne admin console before anyone retries.`,
  );
}
