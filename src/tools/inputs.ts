import * as z from 'zod';

/** Argument schemas shared by the tools. Unknown argument names are rejected (strict objects). */

export const userArgument = z
  .string()
  .min(1)
  .max(256)
  .describe('The PingOne user: their user ID (UUID), username or email. Never guess an ID.');

export const reasonArgument = z
  .string()
  .max(500)
  .optional()
  .describe('Ticket number or justification, recorded in the audit trail (e.g. "INC-1234: locked out after password change").');

export const deviceIdArgument = z
  .string()
  .min(1)
  .max(64)
  .describe("The MFA device's PingOne ID (a UUID), as returned by PingOne for this user's devices.");

export const dryRunArgument = z
  .boolean()
  .optional()
  .describe('true: resolve the target and check every guard, report exactly what would be done, change nothing.');
