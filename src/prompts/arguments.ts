import * as z from 'zod';

/**
 * Prompt arguments are typed by a person into a slash command and then pasted
 * into a message the model reads: untrusted text on its way into a prompt.
 * They must read as what they are, one short line, so nothing can hide in
 * them: no control, line-break, bidirectional or invisible (default-ignorable)
 * characters, no private-use code points or lone surrogates.
 */
const HIDDEN_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

export const MAX_USER_LENGTH = 256;
export const MAX_TICKET_LENGTH = 100;

function oneLine(what: string, max: number) {
  return z
    .string()
    .trim()
    .min(1, `${what} is empty`)
    .max(max, `${what} is longer than ${max} characters`)
    .refine((text) => !HIDDEN_OR_CONTROL.test(text), `${what} must be one line of visible text, without control, line-break, direction-changing or invisible characters`);
}

export const FlowArgumentsSchema = z.strictObject({
  user: oneLine('`user`', MAX_USER_LENGTH).describe('The user as the person named them: username, email, name or PingOne user ID.'),
  ticket: oneLine('`ticket`', MAX_TICKET_LENGTH).optional().describe('The helpdesk ticket number, recorded as the reason of any change.'),
});

export type FlowArguments = z.infer<typeof FlowArgumentsSchema>;

/**
 * An argument as it appears in the prompt: a JSON string literal, so quotes
 * and backslashes inside it are escaped and it cannot end the quotation early.
 */
export function quoted(text: string): string {
  return JSON.stringify(text);
}
