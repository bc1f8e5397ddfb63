import { createResourceServer, resourceServerSettings, type ResourceServer } from '../auth/resourceServer.js';
import { ConfigError, type Config, type HttpSettings, type OAuthConfig } from '../config.js';
import { createRequestGuard } from '../http/guard.js';
import { HttpService } from '../http/listener.js';
import { createReadiness } from '../http/readiness.js';
import type { Logger } from '../logger.js';
import { createTelemetry, meteredAuditSink, type Telemetry } from '../metrics/telemetry.js';
import type { AppParts } from '../app.js';
import { perRequestServer } from '../server.js';
import { SERVER_NAME } from '../version.js';
import { drainCalls, prepare } from './serve.js';

/**
 * Serves MCP over Streamable HTTP until SIGTERM or SIGINT, checking bearer
 * tokens whenever `config.oauth` names an issuer (a tenant's, or with
 * --sandbox the embedded authorization server's). Shutting down:
 * new MCP requests get 503 and /readyz says not ready, calls in flight get
 * the grace period to finish and be answered, calls still running after it
 * are cancelled and recorded as `interrupted`, then sessions and connections
 * close and the process exits 0. A second signal cuts the grace short.
 */
export async function serveHttp(config: Config, settings: HttpSettings, logger: Logger): Promise<void> {
  const telemetry = createTelemetry();
  const { parts, pingone, sandbox, closeEmulator } = await prepare(config, logger, { wrapSink: (sink) => meteredAuditSink(sink, telemetry), telemetry });
  const readiness = createReadiness({ audit: parts.deps.audit, auditPath: config.database ? undefined : config.auditLogPath, hasRecentToken: parts.hasRecentToken, warmUp: parts.warmUp });
  // The tools see the verified caller per request as ctx.http?.authInfo; the factory sees it as ctx.authInfo.
  const factory = perRequestServer(parts.httpDeps);
  let oauth: HttpOAuth = { resourceServer: undefined, close: async () => {} };
  const service = new HttpService({
    settings,
    factory,
    guardFor: async (endpoint) => {
      oauth = await httpAuthFor(config.oauth, endpoint, logger);
      return createRequestGuard({ auth: oauth.resourceServer, trustProxy: settings.trustProxy });
    },
    ready: readiness.ready,
    metrics: () => telemetry.render(),
    logger,
  });
  registerServiceGauges(telemetry, parts, service);

  let address;
  try {
    address = await service.listen();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${SERVER_NAME}: ${error.message}\n`);
    } else {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      process.stderr.write(`${SERVER_NAME}: cannot listen on ${settings.host}:${settings.port} (${code}): choose another PINGONE_MCP_HTTP_HOST or PINGONE_MCP_HTTP_PORT.\n`);
    }
    process.exit(2);
  }
  void readiness.warmUp().then((ok) => {
    if (!ok) logger.warn('PingOne did not issue the worker app a token: /readyz answers not ready until it does (check the PINGONE_* settings)');
  });
  const serving = sandbox ? 'serving MCP over HTTP against the embedded PingOne sandbox' : 'serving MCP over HTTP';
  logger.info(
    {
      url: address.url,
      metricsUrl: address.metricsUrl,
      oauth: config.oauth.kind,
      ...(oauth.resourceServer ? { oauthIssuer: oauth.resourceServer.issuer, resource: oauth.resourceServer.resource.href } : {}),
      environmentId: pingone.environmentId,
      // With a database the file is never written: naming it would send an operator to the wrong trail.
      ...(config.database ? {} : { auditLog: config.auditLogPath }),
      sandbox,
    },
    oauth.startupNote === undefined ? serving : `${serving}; ${oauth.startupNote}`,
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
    await drainCalls(parts.deps.inFlight, logger, why, graceMs, { alsoWaitFor: service, hurry: hurry.signal });
    await service.close().catch(() => {});
    await oauth.close().catch(() => {});
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

/** The OAuth side of the listener: who issues the tokens it accepts, and what to stop on shutdown. */
interface HttpOAuth {
  /** Undefined when OAuth is off (loopback only). */
  resourceServer: ResourceServer | undefined;
  /** For the start-up line: how to sign in (the sandbox). */
  startupNote?: string;
  close(): Promise<void>;
}

/**
 * The bearer gate for the endpoint at `endpoint`, from `config.oauth` alone:
 * a tenant's issuer (its keys fetched now; an issuer that does not answer yet
 * is a warning, tokens are checked when it does), or, with --sandbox, the
 * embedded authorization server, started for this endpoint and loaded only then.
 */
async function httpAuthFor(oauth: OAuthConfig, endpoint: URL, logger: Logger): Promise<HttpOAuth> {
  const warnIfUnreachable = (resourceServer: ResourceServer) =>
    resourceServer.warmUp().catch((error: unknown) => {
      logger.warn(
        { issuer: resourceServer.issuer, problem: error instanceof Error ? error.message : String(error) },
        "the OAuth issuer's discovery document or keys could not be fetched yet: requests are answered 500 until it answers (check PINGONE_MCP_OAUTH_ISSUER)",
      );
    });
  if (oauth.kind !== 'sandbox') {
    const settings = resourceServerSettings(oauth);
    if (settings === undefined) return { resourceServer: undefined, close: async () => {} };
    const resourceServer = createResourceServer(settings);
    void warnIfUnreachable(resourceServer);
    return { resourceServer, close: async () => {} };
  }
  const { startSandboxOAuth, SANDBOX_OPERATORS, DEFAULT_SANDBOX_OPERATOR } = await import('../sandbox/oauth/index.js');
  const signedInByDefault = oauth.sandboxOperator ?? DEFAULT_SANDBOX_OPERATOR;
  const names = SANDBOX_OPERATORS.map((operator) => operator.username);
  if (!names.includes(signedInByDefault)) {
    throw new ConfigError(`PINGONE_MCP_SANDBOX_OPERATOR=${signedInByDefault} names no sandbox operator: use one of ${names.join(', ')}.`);
  }
  const { authorizationServer, settings } = await startSandboxOAuth(oauth, endpoint.href);
  const resourceServer = createResourceServer(settings);
  await warnIfUnreachable(resourceServer);
  const operators = SANDBOX_OPERATORS.map((operator) => `${operator.username} (${operator.access === 'write' ? 'read and write' : 'read only'})`).join(' or ');
  return {
    resourceServer,
    startupNote: `tokens come from its authorization server at ${authorizationServer.issuer}: sign in as ${operators} with login_hint, else as ${signedInByDefault} (PINGONE_MCP_SANDBOX_OPERATOR)`,
    close: () => authorizationServer.close(),
  };
}
