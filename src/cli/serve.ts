import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { assemble } from '../app.js';
import { mirrorToLog } from '../audit/mirror.js';
import { openAuditTrail } from '../audit/trail.js';
import type { Config, PingOneSettings } from '../config.js';
import { StdioConnection } from '../stdio/connection.js';
import { createLogger, type Logger } from '../logger.js';
import { createServer } from '../server.js';

/** No message to this server comes near this; longer lines are dropped, not buffered. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * Serves MCP on stdio until the client closes stdin or a signal arrives.
 * stdout is the protocol channel: everything else goes to stderr via pino.
 *
 * Shutting down (stdin closed, SIGTERM, SIGINT): new requests are refused,
 * calls in flight get a grace period to finish and be answered, calls still
 * running after it are cancelled and recorded as `interrupted`, then the
 * process exits 0. A second signal cuts the grace period short. An uncaught
 * error is logged and ends the process with exit code 1, never a hang.
 */
export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  exitOnCrash(logger);
  const audit = await openAuditTrail(config.auditLogPath);
  const auditStatus = audit.status();
  if (auditStatus.state === 'broken') {
    logger.error({ auditLog: auditStatus.path }, `audit trail unusable, write tools will refuse: ${auditStatus.reason}`);
  }
  for (const warning of audit.warnings) logger.warn({ auditLog: audit.path }, warning);

  const sandbox = config.target.kind === 'sandbox';
  let closeEmulator = async (): Promise<void> => {};
  let pingone: PingOneSettings;
  if (config.target.kind === 'tenant') {
    pingone = config.target.pingone;
  } else {
    // Loaded only in sandbox mode: a real deployment never starts the emulator.
    const [{ startEmulator }, { settingsFor }] = await Promise.all([import('../sandbox/emulator.js'), import('../sandbox/connect.js')]);
    const emulator = await startEmulator();
    closeEmulator = () => emulator.close();
    pingone = settingsFor(emulator);
  }

  const sink = config.auditToStderr ? mirrorToLog(audit, logger) : audit;
  const parts = assemble({ config, pingone, audit: sink, logger, sandbox });
  const connection = new StdioConnection({
    input: process.stdin,
    output: process.stdout,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    onOversized: (message) => logger.warn({ bytes: message.bytes, requestId: message.requestId }, `dropped an MCP message larger than ${MAX_MESSAGE_BYTES} bytes`),
  });
  const handle = serveStdio(() => createServer(parts.deps), {
    transport: connection,
    // Malformed client input lands here; keep one bounded line per problem.
    onerror: (error) => logger.warn({ problem: error.message.slice(0, 500) }, 'MCP transport error'),
  });
  const graceMs = config.shutdownGraceMs;
  logger.info(
    { environmentId: pingone.environmentId, apiUrl: pingone.apiUrl, auditLog: config.auditLogPath, sandbox },
    sandbox ? 'serving MCP on stdio against the embedded PingOne sandbox' : 'serving MCP on stdio',
  );

  const hurry = new AbortController();
  let stopping = false;
  const stop = async (why: string, exitCode: number): Promise<void> => {
    if (stopping) {
      if (why === 'SIGTERM' || why === 'SIGINT') {
        logger.warn({ why }, 'second signal: cancelling the calls still in flight');
        hurry.abort();
      }
      return;
    }
    stopping = true;
    connection.refuseRequests(`The server is shutting down (${why}) and takes no new requests; start it again and resend.`);
    const inFlight = parts.deps.inFlight;
    logger.info({ why, callsInFlight: inFlight.size, graceMs }, 'shutting down');
    const drained = await inFlight.drain(graceMs, { alsoWaitFor: connection, hurry: hurry.signal });
    if (drained.interrupted > 0) logger.warn(drained, 'calls still in flight after the grace period were cancelled and recorded as interrupted');
    else if (drained.finished > 0) logger.info(drained, 'calls in flight finished');
    await handle.close().catch(() => {});
    await parts.close().catch(() => {});
    await closeEmulator().catch(() => {});
    await flushed(process.stdout, 2_000);
    process.exit(exitCode);
  };
  void connection.inputEnded.then(() => stop('stdin closed', 0));
  void connection.lost.then(() => stop('the MCP connection broke (stdout closed or failing)', 1));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  process.on('SIGINT', () => void stop('SIGINT', 0));
}

/**
 * Installed first: whatever goes wrong later, the process says why on stderr
 * and ends with exit code 1 instead of hanging or dying silently.
 */
function exitOnCrash(logger: Logger): void {
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(1);
  });
}

/** Waits until what was written to `stream` has been handed to the OS, at most `timeoutMs`. */
async function flushed(stream: NodeJS.WriteStream, timeoutMs: number): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    stream.once('drain', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
