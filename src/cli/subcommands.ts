/** Where a command's text goes; each command adds what else it needs. */
export interface Output {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/**
 * Runs `COMMAND <subcommand> …` from a table of handlers and resolves to the
 * exit code: usage on help, 2 for a missing or unknown subcommand, and 2 with
 * only the message (an operator needs the reason, not our stack) when a
 * handler throws. Never throws.
 */
export async function runSubcommand(
  command: string,
  usage: string,
  handlers: Readonly<Record<string, (args: string[]) => Promise<number>>>,
  args: string[],
  io: Output,
): Promise<number> {
  const [subcommand, ...rest] = args;
  try {
    if (subcommand === 'help' || subcommand === '--help' || subcommand === '-h') {
      io.stdout(usage);
      return 0;
    }
    if (subcommand === undefined) {
      io.stderr(`${command}: a subcommand is needed.\n\n${usage}`);
      return 2;
    }
    const handler = Object.hasOwn(handlers, subcommand) ? handlers[subcommand] : undefined;
    if (handler === undefined) {
      io.stderr(`${command}: unknown subcommand "${subcommand}".\n\n${usage}`);
      return 2;
    }
    return await handler(rest);
  } catch (err) {
    io.stderr(`${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}
