/**
 * SCIM filters for PingOne user search. Agent text only ever enters a filter
 * as a quoted string value, escaped JSON-style, so it cannot add clauses.
 */
export function quoteFilterValue(value: string): string {
  return JSON.stringify(value);
}

/** Users whose username or email equals `identifier` exactly. */
export function usernameOrEmailFilter(identifier: string): string {
  const quoted = quoteFilterValue(identifier);
  return `username eq ${quoted} or email eq ${quoted}`;
}
