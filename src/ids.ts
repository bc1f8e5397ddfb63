/**
 * PingOne identifiers are UUIDs. Only a value that passed `parseUuid` may be put
 * into a URL path: the brand makes "unchecked text in an ID slot" a type error.
 */
export type Uuid = string & { readonly __brand: 'Uuid' };

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Returns the value, lower-cased, when it is an 8-4-4-4-12 hex UUID; otherwise undefined. */
export function parseUuid(value: string): Uuid | undefined {
  return UUID_PATTERN.test(value) ? (value.toLowerCase() as Uuid) : undefined;
}

/** True only for the canonical (lower-case) form `parseUuid` returns: the brand promises that form. */
export function isUuid(value: string): value is Uuid {
  return UUID_PATTERN.test(value) && value === value.toLowerCase();
}
