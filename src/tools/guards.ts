import type { Guards } from '../config.js';
import { identityKeys } from '../pingone/identity.js';
import type { UserRecord } from '../pingone/records.js';
import type { ReserveResult } from '../store.js';
import type { Denial } from './errors.js';
import { describeUser, summarizeUser } from './output.js';

/**
 * Who may be written, whatever the agent asks. Decided on PingOne's raw
 * identity (ID, username, email, population), never on a display form. Reads
 * are never limited by it; they use it to say what a write would meet.
 */
export function targetDenial(guards: Guards, user: UserRecord): Denial | undefined {
  const who = describeUser(summarizeUser(user));
  if (identityKeys(user.identity).some((key) => guards.protectedUsers.has(key))) {
    return { code: 'PROTECTED_USER', message: `${who} is a protected account (PINGONE_MCP_PROTECTED_USERS): this server never changes it. A PingOne administrator must handle it directly.` };
  }
  if (guards.allowedPopulations !== undefined) {
    const population = user.identity.populationId;
    if (population === undefined || !guards.allowedPopulations.has(population)) {
      return {
        code: 'POPULATION_NOT_ALLOWED',
        message: `${who} is in population ${population ?? '(none)'}, which this server may not change (PINGONE_MCP_ALLOWED_POPULATIONS). Hand the ticket to a PingOne administrator.`,
      };
    }
  }
  return undefined;
}

/** The words a lookup adds to its next step when the guards would deny a write. */
export function denialNote(denial: Denial | undefined): string | undefined {
  if (denial === undefined) return undefined;
  return denial.code === 'PROTECTED_USER' ? 'protected: a PingOne administrator handles this account' : 'outside the populations this server may change: a PingOne administrator handles this account';
}

/** A refused reservation as a denial, saying when to try again. */
export function rateDenial(refused: Extract<ReserveResult, { granted: false }>, guards: Guards): Denial {
  const seconds = Math.max(1, Math.ceil(refused.retryAfterMs / 1000));
  const limit =
    refused.limit === 'server'
      ? `at most ${guards.maxWritesPerMinute} writes per minute (PINGONE_MCP_MAX_WRITES_PER_MINUTE)`
      : `at most ${guards.maxWritesPerOperatorPerMinute} writes per minute per operator (PINGONE_MCP_MAX_WRITES_PER_OPERATOR_PER_MINUTE)`;
  return { code: 'WRITE_RATE_LIMITED', message: `This server allows ${limit} and that limit is reached: try again in ${seconds} s. Nothing was changed.`, retryAfterSeconds: seconds };
}
