import { mkdtempSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { Client, StreamableHTTPClientTransport, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/client';
import type { McpRequestContext, McpServer } from '@modelcontextprotocol/server';
import { assemble } from '../../src/app.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { createResourceServer } from '../../src/auth/resourceServer.js';
import { loadConfig, type PingOneSettings } from '../../src/config.js';
import { registerServiceGauges } from '../../src/cli/serveHttp.js';
import { createRequestGuard } from '../../src/http/guard.js';
import { HttpService, type HttpTimeouts } from '../../src/http/listener.js';
import { createReadiness } from '../../src/http/readiness.js';
import { createLogger } from '../../src/logger.js';
import { createTelemetry, meteredAuditSink } from '../../src/metrics/telemetry.js';
import { settingsFor } from '../../src/sandbox/connect.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { makeKey, signToken, startTestIssuer, type SigningKey, type TestIssuer, type TokenParts, TEST_POLICY } from '../auth/testIssuer.js';
import { startTestEmulator as startEmulator, type TestEmulator as Emulator, type TestEmulatorOptions as EmulatorOptions } from '../support/emulator.js';
import { perRequestServer } from '../../src/server.js';
import { readAudit, type Era } from '../support/harness.js';

export const READ_SCOPE = TEST_POLICY.scopes.read;
export const WRITE_SCOPE = TEST_POLICY.scopes.write;
export const POLICY = TEST_POLICY;

/**
 * OAuth as a tenant has it, on loopback: a real issuer (discovery and JWKS,
 * test/auth/testIssuer.ts), a published signing key, and tokens signed with it
 * for the harness's resource. The listener checks them with src/auth's verifier.
 */
export interface HarnessOAuth {
  readonly idp: TestIssuer;
  readonly key: SigningKey;
  /** The endpoint's public URL: the audience of `token()`. */
  readonly resource: string;
  /** A token the listener accepts: read scope, subject ops1, unless `parts` say otherwise. */
  token(parts?: Partial<TokenParts> & { scope?: string }): Promise<string>;
}

export interface HttpHarness {
  url: URL;
  /** Set when /metrics has a port of its own (PINGONE_MCP_METRICS_PORT). */
  metricsUrl: URL | undefined;
  emulator: Emulator;
  /** Set when the harness runs with `oauth`. */
  oauth: HarnessOAuth | undefined;
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
    /** Tenant-mode OAuth against a loopback issuer; `resourceUrl` overrides the audience (default: the listener's URL). */
    oauth?: { resourceUrl?: (port: number) => string };
    emulator?: EmulatorOptions;
    pingone?: Partial<PingOneSettings>;
    /** Written into the audit file before the server opens it. */
    auditContent?: string;
    timeouts?: Partial<HttpTimeouts>;
    /** What bodies still arriving may hold, all together and per caller (the listener's defaults otherwise). */
    bodyBytesInFlight?: { total: number; perCaller: number };
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
  let oauth: HarnessOAuth | undefined;
  const service = new HttpService({
    settings,
    factory: (ctx) => {
      const server = perRequestServer(parts.httpDeps)(ctx);
      options.decorate?.(server, ctx);
      return server;
    },
    guardFor: async (endpoint) => {
      if (options.oauth === undefined) return createRequestGuard({ auth: undefined, trustProxy: settings.trustProxy });
      oauth = await startHarnessOAuth(options.oauth.resourceUrl?.(Number(endpoint.port)) ?? endpoint.href);
      // No cool-down between JWKS fetches, so a rotation test needs no wait.
      return createRequestGuard({ auth: createResourceServer({ issuer: oauth.idp.issuer, resource: oauth.resource, policy: POLICY }, { cooldownMs: 0 }), trustProxy: settings.trustProxy });
    },
    ready: readiness.ready,
    metrics: () => telemetry.render(),
    logger,
    ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    ...(options.bodyBytesInFlight === undefined ? {} : { bodyBytesInFlight: options.bodyBytesInFlight }),
  });
  registerServiceGauges(telemetry, parts, service);
  const { url, metricsUrl } = await service.listen();
  await readiness.warmUp();
  const clients: Client[] = [];
  return {
    url: new URL(url),
    metricsUrl: metricsUrl === undefined ? undefined : new URL(metricsUrl),
    emulator,
    oauth,
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
      await oauth?.idp.close();
    },
  };
}

async function startHarnessOAuth(resource: string): Promise<HarnessOAuth> {
  const idp = await startTestIssuer();
  const key = await makeKey('harness-key');
  idp.published = [key];
  return {
    idp,
    key,
    resource,
    token: ({ scope = READ_SCOPE, claims, ...parts } = {}) =>
      signToken({ key, issuer: idp.issuer, audience: resource, subject: DEMO_USERS.ops1.id, ...parts, claims: { scope, client_id: 'harness-client', preferred_username: 'ops1', ...claims } }),
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
