import { mkdtempSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { Client, StreamableHTTPClientTransport, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/client';
import { buildOAuthProtectedResourceMetadata, OAuthError, OAuthErrorCode, type AuthInfo, type McpRequestContext, type McpServer, type OAuthTokenVerifier } from '@modelcontextprotocol/server';
import { assemble } from '../../src/app.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { loadConfig, type PingOneSettings } from '../../src/config.js';
import { registerServiceGauges } from '../../src/cli/serveHttp.js';
import { createRequestGuard, type HttpAuth } from '../../src/http/guard.js';
import { HttpService, type HttpTimeouts } from '../../src/http/listener.js';
import { createReadiness } from '../../src/http/readiness.js';
import { createLogger } from '../../src/logger.js';
import { createTelemetry, meteredAuditSink } from '../../src/metrics/telemetry.js';
import { settingsFor } from '../../src/sandbox/connect.js';
import { startTestEmulator as startEmulator, type TestEmulator as Emulator, type TestEmulatorOptions as EmulatorOptions } from '../support/emulator.js';
import { createServer } from '../../src/server.js';
import { readAudit, type Era } from '../support/harness.js';

export const READ_SCOPE = 'helpdesk:read';

/**
 * A stand-in for src/auth's JWT verifier, behind the same SDK interface:
 * tokens are opaque strings it was told about. Real signed tokens against a
 * real JWKS are tested with that verifier; what these tests prove is the
 * listener's side (challenge, audience, scope, pass-through of AuthInfo).
 */
export class KnownTokens implements OAuthTokenVerifier {
  readonly seen: string[] = [];
  private readonly tokens = new Map<string, AuthInfo>();

  add(token: string, info: Partial<AuthInfo> & { sub: string }): void {
    const { sub, ...rest } = info;
    this.tokens.set(token, { token, clientId: 'test-client', scopes: [READ_SCOPE], expiresAt: Math.floor(Date.now() / 1000) + 600, extra: { iss: 'https://issuer.test', sub, issuer: 'https://issuer.test', subject: sub, displayName: sub }, ...rest });
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    this.seen.push(token);
    const info = this.tokens.get(token);
    if (info === undefined) throw new OAuthError(OAuthErrorCode.InvalidToken, 'Unknown token');
    return info;
  }
}

export interface HttpHarness {
  url: URL;
  /** Set when /metrics has a port of its own (PINGONE_MCP_METRICS_PORT). */
  metricsUrl: URL | undefined;
  emulator: Emulator;
  auditPath: string;
  service: HttpService;
  metrics(): string;
  audit(): ReturnType<typeof readAudit>;
  /** A connected official client of the given era. */
  connect(options?: { era?: Era; token?: string; name?: string; answer?: (request: ElicitRequest['params']) => ElicitResult; fetch?: typeof fetch }): Promise<Client>;
  close(): Promise<void>;
}

/** The real HttpService on an ephemeral loopback port, PingOne played by the emulator. */
export async function startHttpHarness(
  options: {
    env?: Record<string, string>;
    /** A verifier, or one made for the resource URL (a real JWT verifier checks it as the audience). */
    verifier?: OAuthTokenVerifier | ((resourceUrl: URL) => OAuthTokenVerifier);
    emulator?: EmulatorOptions;
    pingone?: Partial<PingOneSettings>;
    resourceUrl?: (port: number) => string;
    /** Written into the audit file before the server opens it. */
    auditContent?: string;
    timeouts?: Partial<HttpTimeouts>;
    /** Adds to each server instance the factory builds (e.g. a probe tool). */
    decorate?: (server: McpServer, ctx: McpRequestContext) => void;
  } = {},
): Promise<HttpHarness> {
  const emulator = await startEmulator(options.emulator);
  const auditPath = join(mkdtempSync(join(tmpdir(), 'p1mcp-http-')), 'audit.jsonl');
  if (options.auditContent !== undefined) writeFileSync(auditPath, options.auditContent);
  const config = loadConfig({ ...options.env }, { sandbox: true, http: true, auditLog: auditPath, logLevel: 'silent' });
  const settings = { ...config.http!, port: 0 };
  const telemetry = createTelemetry();
  const logger = createLogger('silent');
  const parts = assemble({ config, pingone: { ...settingsFor(emulator), ...options.pingone }, audit: meteredAuditSink(await openAuditTrail(auditPath), telemetry), logger, sandbox: false, telemetry });
  const readiness = createReadiness({ audit: parts.deps.audit, auditPath, hasRecentToken: parts.hasRecentToken, warmUp: parts.warmUp });
  // The resource URL needs the port, known only once listening: the guard is built after a first bind.
  let resourceUrl: URL | undefined;
  let auth: HttpAuth | undefined;
  const guardHolder = { guard: createRequestGuard({ resourceUrl: undefined, auth: undefined, trustProxy: settings.trustProxy }) };
  const service = new HttpService({
    settings,
    factory: (ctx) => {
      const server = createServer(parts.httpDeps, ctx.authInfo);
      options.decorate?.(server, ctx);
      return server;
    },
    guard: {
      check: (req) => guardHolder.guard.check(req),
      get resourceMetadataUrl() {
        return guardHolder.guard.resourceMetadataUrl;
      },
      get resourceMetadata() {
        return guardHolder.guard.resourceMetadata;
      },
    },
    ready: readiness.ready,
    metrics: () => telemetry.render(),
    logger,
    ...(options.timeouts ? { timeouts: options.timeouts } : {}),
  });
  registerServiceGauges(telemetry, parts, service);
  const { url, metricsUrl } = await service.listen();
  const port = Number(new URL(url).port);
  if (options.verifier) {
    resourceUrl = new URL(options.resourceUrl?.(port) ?? `http://127.0.0.1:${port}/mcp`);
    auth = {
      verifier: typeof options.verifier === 'function' ? options.verifier(resourceUrl) : options.verifier,
      requiredScopes: [READ_SCOPE],
      resourceMetadata: buildOAuthProtectedResourceMetadata({
        oauthMetadata: { issuer: 'https://issuer.test', authorization_endpoint: 'https://issuer.test/authorize', token_endpoint: 'https://issuer.test/token', response_types_supported: ['code'] },
        resourceServerUrl: resourceUrl,
        scopesSupported: [READ_SCOPE, 'helpdesk:write'],
        resourceName: 'PingOne Helpdesk',
      }),
    };
    guardHolder.guard = createRequestGuard({ resourceUrl, auth, trustProxy: settings.trustProxy });
  }
  await readiness.warmUp();
  const clients: Client[] = [];
  return {
    url: new URL(url),
    metricsUrl: metricsUrl === undefined ? undefined : new URL(metricsUrl),
    emulator,
    auditPath,
    service,
    metrics: () => telemetry.render(),
    audit: () => readAudit(auditPath),
    async connect({ era = 'legacy', token, name = 'http-test-client', answer, fetch: fetchFn } = {}) {
      const client = new Client(
        { name, version: '1.0.0' },
        {
          ...(era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {}),
          ...(answer ? { capabilities: { elicitation: { form: {} } } } : {}),
        },
      );
      if (answer) client.setRequestHandler('elicitation/create', (request) => answer(request.params));
      const transport = new StreamableHTTPClientTransport(new URL(url), {
        ...(token === undefined ? {} : { authProvider: { token: async () => token } }),
        ...(fetchFn === undefined ? {} : { fetch: fetchFn }),
      });
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((client) => client.close().catch(() => {})));
      await service.close();
      await parts.close();
      await emulator.close();
    },
  };
}

export function httpHarnessPerTest(): (options?: Parameters<typeof startHttpHarness>[0]) => Promise<HttpHarness> {
  const open: HttpHarness[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((harness) => harness.close()));
  });
  return async (options) => {
    const harness = await startHttpHarness(options);
    open.push(harness);
    return harness;
  };
}

export function structuredOf(result: unknown): Record<string, any> {
  return ((result as { structuredContent?: unknown }).structuredContent ?? {}) as Record<string, any>;
}

/** A request through node:http, which (unlike fetch) sends the Host header it is given. */
export function rawRequest(url: URL, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
