import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { assemble } from '../app.js';
import { mirrorToLog } from '../audit/mirror.js';
import { openAuditTrail } from '../audit/trail.js';
import type { Config, PingOneSettings } from '../config.js';
import { createLogger } from '../logger.js';
import { createServer } from '../server.js';

/**
 * Serves MCP on stdio until the client closes stdin or a signal arrives.
 * stdout is the protocol channel: everything else goes to stderr via pino.
 */
export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const audit = openAuditTrail(config.auditLogPath);
  const auditStatus = audit.status();
  if (auditStatus.state === 'broken') {
    logger.error({ auditLog: auditStatus.path }, `audit trail unusable, write tools will refuse: ${auditStatus.reason}`);
  }

  const sandbox = config.target.kind === 'sandbox';
  let closeEmulator = async (): Promise<void> => {};
  let pingone: PingOneSettings;
  if (config.target.kind === 'tenant') {
    pingone = config.target.pingone;
  } else {
    // Loaded only in sandbox mode: a real deployment never starts the emulator.
    const { startEmulator } = await import('../sandbox/emulator.js');
    const emulator = await startEmulator();
    closeEmulator = () => emulator.close();
    pingone = {
      environmentId: emulator.environmentId,
      authEnvironmentId: emulator.environmentId,
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
      apiUrl: emulator.apiUrl,
      authUrl: emulator.authUrl,
      tokenAuthMethod: 'client_secret_basic',
    };
  }

  const sink = config.auditToStderr ? mirrorToLog(audit, logger) : audit;
  const parts = assemble({ config, pingone, audit: sink, logger, sandbox });
  const handle = serveStdio(() => createServer(parts.deps), {
    onerror: (error) => logger.warn({ problem: error.message }, 'MCP transport error'),
  });
  logger.info(
    { environmentId: pingone.environmentId, apiUrl: pingone.apiUrl, auditLog: config.auditLogPath, sandbox },
    sandbox ? 'serving MCP on stdio against the embedded PingOne sandbox' : 'serving MCP on stdio',
  );

  let stopping = false;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, 'shutting down');
    await handle.close().catch(() => {});
    await parts.close().catch(() => {});
    await closeEmulator().catch(() => {});
    process.exit(0);
  };
  process.stdin.once('end', () => void stop('stdin closed'));
  process.stdin.once('close', () => void stop('stdin closed'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(1);
  });
}
