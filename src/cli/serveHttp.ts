import type { McpServerFactory } from '@modelcontextprotocol/server';
import { ConfigError, type Config, type HttpSettings } from '../config.js';
import { createRequestGuard, type HttpAuth } from '../http/guard.js';
import { HttpService } from '../http/listener.js';
import { createReadiness } from '../http/readiness.js';
import type { Logger } from '../logger.js';
import { createTelemetry, meteredAuditSink, type Telemetry } from '../metrics/telemetry.js';
import type { AppParts } from '../app.js';
import { createServer } from '../server.js';
import { SERVER_NAME } from '../version.js';
import { prepare } from './serve.js';

/**
 * Serves MCP over Streamable HTTP until SIGTERM or SIGINT. Shutting down:
 * new MCP requests get 503 and /readyz says not ready, calls in flight get
 * the grace period to finish and be answered, calls still running after it
 * are cancelled and recorded as `interrupted`, then sessions and connections
 * close and the process exits 0. A second signal cuts the grace short.
 */
export async function serveHttp(config: Config, settings: HttpSettings, logger: Logger): Promise<void> {
  let auth: HttpAuth | undefined;
  try {
    auth = await httpAuthFor(settings);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${SERVER_NAME}: ${error.message}\n`);
    process.exit(2);
  }
  const telemetry = createTelemetry();
  const { parts, pingone, sandbox, closeEmulator } = await prepare(config, logger, { wrapSink: (sink) => meteredAuditSink(sink, telemetry), telemetry });
  const readiness = createReadiness({ audit: parts.deps.audit, auditPath: config.auditLogPath, hasRecentToken: parts.hasRecentToken, warmUp: parts.warmUp });
  // The tools see the verified caller per request as ctx.http?.authInfo; the factory sees it as ctx.authInfo.
  const factory: McpServerFactory = (ctx) => createServer(parts.httpDeps, ctx.authInfo);
  const service = new HttpService({
    settings,
    factory,
    guard: createRequestGuard({ resourceUrl: settings.resourceUrl, auth, trustProxy: settings.trustProxy }),
    ready: readiness.ready,
    metrics: () => telemetry.render(),
    logger,
  });
  registerServiceGauges(telemetry, parts, service);

  let address;
  try {
    address = await service.listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    process.stderr.write(`${SERVER_NAME}: cannot listen on ${settings.host}:${settings.port} (${code}): choose another PINGONE_MCP_HTTP_HOST or PINGONE_MCP_HTTP_PORT.\n`);
    process.exit(2);
  }
  void readiness.warmUp().then((ok) => {
    if (!ok) logger.warn('PingOne did not issue the worker app a token: /readyz answers not ready until it does (check the PINGONE_* settings)');
  });
  logger.info(
    { url: address.url, metricsUrl: address.metricsUrl, oauth: auth !== undefined, environmentId: pingone.environmentId, auditLog: config.auditLogPath, sandbox },
    sandbox ? 'serving MCP over HTTP against the embedded PingOne sandbox' : 'serving MCP over HTTP',
  );

  const graceMs = config.shutdownGraceMs;
  const hurry = new AbortController();
  let stopping = false;
  const stop = async (why: string): Promise<void> => {
    if (stopping) {
      logger.warn({ why }, 'second signal: cancelling the calls still in flight');
      hurry.abort();
      return;
    }
    stopping = true;
    service.refuseRequests(`The server is shutting down (${why}) and takes no new requests; resend to another instance or when it is back.`);
    const inFlight = parts.deps.inFlight;
    logger.info({ why, callsInFlight: inFlight.size, graceMs }, 'shutting down');
    const drained = await inFlight.drain(graceMs, { alsoWaitFor: service, hurry: hurry.signal });
    if (drained.interrupted > 0) logger.warn(drained, 'calls still in flight after the grace period were cancelled and recorded as interrupted');
    else if (drained.finished > 0) logger.info(drained, 'calls in flight finished');
    await service.close().catch(() => {});
    await parts.close().catch(() => {});
    await closeEmulator().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** The values /metrics reads when scraped. */
export function registerServiceGauges(telemetry: Telemetry, parts: Pick<AppParts, 'deps' | 'tokenRequests'>, service: HttpService): void {
  telemetry.gauge('pingone_mcp_calls_in_flight', 'Tool calls running now.', () => parts.deps.inFlight.size);
  telemetry.gauge('pingone_mcp_http_requests_pending', 'MCP POST requests received and not answered yet (calls running or waiting).', () => service.pendingPosts);
  telemetry.gauge('pingone_mcp_http_sessions', 'Open 2025-era MCP sessions.', () => service.sessionCount);
  telemetry.counterFrom('pingone_mcp_token_requests_total', 'Worker token requests sent to PingOne (refreshes included).', () => parts.tokenRequests());
}

/**
 * The bearer gate for OAuth mode. This is the one line where the JWT
 * verifier of src/auth/ plugs in (it implements the SDK's OAuthTokenVerifier
 * and builds the Protected Resource Metadata); until it is part of the build,
 * OAuth mode refuses to start rather than serve without checking tokens.
 */
async function httpAuthFor(settings: HttpSettings): Promise<HttpAuth | undefined> {
  if (!settings.oauth) return undefined;
  throw new ConfigError('PINGONE_MCP_RESOURCE turns OAuth on, but this build has no access-token verifier yet: unset PINGONE_MCP_RESOURCE and listen on 127.0.0.1.');
}
