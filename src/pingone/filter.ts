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

/**
 * Users a helpdesk search for `query` should find: a username prefix, an exact
 * email, or a given/family name prefix; two or more words search given name
 * and family name together ("Jane Doe").
 */
export function userSearchFilter(query: string): string {
  const words = query.trim().split(/\s+/);
  if (words.length >= 2) {
    return `name.given sw ${quoteFilterValue(words[0]!)} and name.family sw ${quoteFilterValue(words[words.length - 1]!)}`;
  }
  const quoted = quoteFilterValue(query.trim());
  return `username sw ${quoted} or email eq ${quoted} or name.given sw ${quoted} or name.family sw ${quoted}`;
}
