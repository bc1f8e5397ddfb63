import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { assemble, type AppParts } from '../app.js';
import type { AuditSink } from '../audit/record.js';
import type { Telemetry } from '../metrics/telemetry.js';
import { mirrorToLog } from '../audit/mirror.js';
import { openAuditTrail, type AuditTrailOptions } from '../audit/trail.js';
import type { Config, DatabaseSettings, PingOneSettings } from '../config.js';
import type { DrainOptions, InFlightCalls } from '../lifecycle.js';
import { StdioConnection } from '../stdio/connection.js';
import { safeText } from '../text/untrusted.js';
import { createLogger, createStartupLogger, type Logger } from '../logger.js';
import { createServer } from '../server.js';
import type { PostgresStores } from '../store/postgres/index.js';
import { SERVER_NAME } from '../version.js';

/** No message to this server comes near this; longer lines are dropped, not buffered. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * The signals that stop the stdio server gracefully. SIGHUP (a terminal or client hanging up)
 * too: its default action would end the process without an exit event, losing the held
 * start-up line and the calls in flight's `interrupted` records.
 */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * Serves MCP on stdio until the client closes stdin or a signal arrives.
 * stdout is the protocol channel: everything else goes to stderr via pino.
 *
 * Shutting down (stdin closed, SIGTERM, SIGINT, SIGHUP): new requests are refused,
 * calls in flight get a grace period to finish and be answered, calls still
 * running after it are cancelled and recorded as `interrupted`, then the
 * process exits 0. A second signal cuts the grace period short. An uncaught
 * error is logged and ends the process with exit code 1, never a hang.
 */
export async function serve(config: Config): Promise<void> {
  if (config.http !== undefined) {
    const logger = createLogger(config.logLevel);
    exitOnCrash(logger);
    // Loaded only in HTTP mode: stdio start-up pays nothing for the listener.
    const { serveHttp } = await import('./serveHttp.js');
    return serveHttp(config, config.http, logger);
  }
  // pino loads after start-up (see StartupLogger): at the first line other than the start-up line, or on exit.
  const logger = createStartupLogger(config.logLevel);
  exitOnCrash(logger);
  // A desktop client waits for start-up: the trail's last record is checked under the first call's lock instead.
  const { parts, pingone, sandbox, closeEmulator } = await prepare(config, logger, { verifyTail: 'first-append' });
  const connection = new StdioConnection({
    input: process.stdin,
    output: process.stdout,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    onOversized: (message) => logger.warn({ bytes: message.bytes, requestId: message.requestId }, `dropped an MCP message larger than ${MAX_MESSAGE_BYTES} bytes`),
  });
  const handle = serveStdio(() => createServer(parts.deps), {
    transport: connection,
    // Malformed client input lands here; keep one bounded line per problem.
    onerror: (error) => logger.warn({ problem: safeText(error.message, 500) }, 'MCP transport error'),
  });
  const graceMs = config.shutdownGraceMs;
  logger.startupLine(
    { environmentId: pingone.environmentId, apiUrl: pingone.apiUrl, ...(config.database ? {} : { auditLog: config.auditLogPath }), sandbox },
    sandbox ? 'serving MCP on stdio against the embedded PingOne sandbox' : 'serving MCP on stdio',
  );

  const hurry = new AbortController();
  let stopping = false;
  const stop = async (why: string, exitCode: number): Promise<void> => {
    if (stopping) {
      if (STOP_SIGNALS.some((signal) => signal === why)) {
        logger.warn({ why }, 'second signal: cancelling the calls still in flight');
        hurry.abort();
      }
      return;
    }
    stopping = true;
    connection.refuseRequests(`The server is shutting down (${why}) and takes no new requests; start it again and resend.`);
    await drainCalls(parts.deps.inFlight, logger, why, graceMs, { alsoWaitFor: connection, hurry: hurry.signal });
    await handle.close().catch(() => {});
    await parts.close().catch(() => {});
    await closeEmulator().catch(() => {});
    await flushed(process.stdout, 2_000);
    process.exit(exitCode);
  };
  void connection.inputEnded.then(() => stop('stdin closed', 0));
  void connection.lost.then(() => stop('the MCP connection broke (stdout closed or failing)', 1));
  for (const signal of STOP_SIGNALS) process.on(signal, () => void stop(signal, 0));
}

export interface Prepared {
  parts: AppParts;
  pingone: PingOneSettings;
  sandbox: boolean;
  closeEmulator(): Promise<void>;
}

/** What both transports serve: the audit trail, PingOne (a tenant or the emulator) and the tools' dependencies. */
export async function prepare(
  config: Config,
  logger: Logger,
  options: { wrapSink?: (sink: AuditSink) => AuditSink; telemetry?: Telemetry; verifyTail?: AuditTrailOptions['verifyTail'] } = {},
): Promise<Prepared> {
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

  const shared = config.database === undefined ? undefined : await openDatabase(config, config.database, pingone, sandbox, logger, closeEmulator);
  const audit = shared?.audit ?? (await openFileTrail(config.auditLogPath, logger, options.verifyTail ?? 'open'));
  const wrapped = options.wrapSink ? options.wrapSink(audit) : audit;
  const sink = config.auditToStderr ? mirrorToLog(wrapped, logger) : wrapped;
  const parts = assemble({
    config,
    pingone,
    audit: sink,
    logger,
    sandbox,
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    ...(shared ? { stores: { limiter: shared.limiter, ledger: shared.ledger } } : {}),
  });
  if (shared === undefined) return { parts, pingone, sandbox, closeEmulator };
  // The stores close after the calls in flight are drained, with the rest of the parts.
  const close = async (): Promise<void> => {
    await parts.close().catch(() => {});
    await shared.close();
  };
  return { parts: { ...parts, close }, pingone, sandbox, closeEmulator };
}

async function openFileTrail(path: string, logger: Logger, verifyTail: NonNullable<AuditTrailOptions['verifyTail']>): Promise<AuditSink> {
  const audit = await openAuditTrail(path, { verifyTail });
  const auditStatus = audit.status();
  if (auditStatus.state === 'broken') {
    logger.error({ auditLog: auditStatus.path }, `audit trail unusable, write tools will refuse: ${auditStatus.reason}`);
  }
  for (const warning of audit.warnings) logger.warn({ auditLog: audit.path }, warning);
  return audit;
}

/**
 * The shared stores of a replica deployment. Loaded only when a database is
 * configured: without one, neither this module nor the driver is read. A
 * database the server cannot start on ends the process: one line, exit 2.
 */
async function openDatabase(config: Config, database: DatabaseSettings, pingone: PingOneSettings, sandbox: boolean, logger: Logger, closeEmulator: () => Promise<void>): Promise<PostgresStores> {
  const { openPostgresStores, trailKey, DatabaseStartError } = await import('../store/postgres/index.js');
  const trail = trailKey(pingone.environmentId, sandbox);
  try {
    const stores = await openPostgresStores({
      database,
      trail,
      limits: { server: config.guards.maxWritesPerMinute, operator: config.guards.maxWritesPerOperatorPerMinute },
      logger,
    });
    logger.info({ trail: `${trail.environmentId}/${trail.scope}` }, 'audit trail, write limits and confirmations are kept in PostgreSQL');
    return stores;
  } catch (error) {
    if (!(error instanceof DatabaseStartError)) throw error;
    await closeEmulator().catch(() => {});
    process.stderr.write(`${SERVER_NAME}: ${error.message}\n`);
    process.exit(2);
  }
}

/**
 * Installed first: whatever goes wrong later, the process says why on stderr
 * and ends with exit code 1 instead of hanging or dying silently.
 */
export function exitOnCrash(logger: Logger): void {
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
export async function flushed(stream: NodeJS.WriteStream, timeoutMs: number): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    stream.once('drain', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The drain both transports run when they stop, with the lines an operator reads about it. */
export async function drainCalls(inFlight: InFlightCalls, logger: Logger, why: string, graceMs: number, options: DrainOptions): Promise<void> {
  logger.info({ why, callsInFlight: inFlight.size, graceMs }, 'shutting down');
  const drained = await inFlight.drain(graceMs, options);
  if (drained.interrupted > 0) logger.warn(drained, 'calls still in flight after the grace period were cancelled and recorded as interrupted');
  else if (drained.finished > 0) logger.info(drained, 'calls in flight finished');
}
