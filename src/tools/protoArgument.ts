/**
 * An own `__proto__` argument, kept visible. The SDK parses a request's tool
 * arguments with a record schema that drops such a key without a word, and
 * strict argument checking must refuse it instead: the server renames it to
 * this mark as each message arrives (before that parsing), and the tool
 * definition refuses an argument of that name like any unknown one.
 */
export const PROTO_ARGUMENT_MARK = '(__proto__)';

/** `message` with an own `__proto__` tool argument renamed to the mark; any other message as it is. */
export function markProtoArgument<T>(message: T): T {
  const params = (message as { method?: unknown; params?: { arguments?: unknown } }).params;
  const args = params?.arguments;
  if ((message as { method?: unknown }).method !== 'tools/call' || typeof args !== 'object' || args === null || !Object.hasOwn(args, '__proto__')) return message;
  const renamed = Object.fromEntries(Object.entries(args).map(([key, value]) => [key === '__proto__' ? PROTO_ARGUMENT_MARK : key, value]));
  return { ...message, params: { ...params, arguments: renamed } };
}
