import type { AuditSink } from './audit/record.js';
import type { Operator } from './auth/operator.js';
import { operatorFromAuthInfo } from './auth/tokenOperator.js';
import type { ToolDeps } from './tools/call.js';
import type { Config, PingOneSettings } from './config.js';
import type { Logger } from './logger.js';
import { PingOneClient } from './pingone/client.js';
import { createCallScope, HttpExchange } from './pingone/http.js';
import { DEFAULT_RETRY_POLICY } from './pingone/retry.js';
import { ClientCredentialsTokenSource } from './pingone/token.js';
import { USER_AGENT } from './version.js';
import { nodeCrypto } from './lazyCrypto.js';
import { localActor } from './audit/actor.js';
import { CallGate, InFlightCalls } from './lifecycle.js';
import { MemoryConfirmationLedger, MemoryWriteLimiter } from './store/memory.js';
import { ConfirmationGate } from './tools/confirm.js';
import { MeteredExchange } from './metrics/meteredExchange.js';
import type { Telemetry } from './metrics/telemetry.js';
import type { ConfirmationLedger, WriteLimiter } from './store.js';

/** Limits far below undici's 300 s defaults: an agent is waiting on every call. */
export const TIMEOUTS = {
  /** One tool call, all requests, retries and waits included. */
  callMs: 30_000,
  connectMs: 5_000,
  headersMs: 15_000,
  bodyMs: 15_000,
  tokenMs: 15_000,
} as const;

/** No real PingOne answer comes near this; a larger body is not read. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface AppParts {
  /** For stdio: the operator is the configured one (PINGONE_MCP_OPERATOR), unverified. */
  deps: ToolDeps;
  /**
   * For HTTP: the same stores, limits and trail, but the operator of a call is
   * the one its verified token names, and nobody without one: the setting does not apply.
   */
  httpDeps: ToolDeps;
  /** Token requests sent so far (benchmarks and tests read it). */
  tokenRequests(): number;
  /** Whether PingOne gave the worker app a token lately (a cached one, or one within `withinMs`): readiness, without a request. */
  hasRecentToken(withinMs: number): boolean;
  /** Asks for a worker token now (readiness warm-up); resolves whatever happens. */
  warmUp(): Promise<boolean>;
  close(): Promise<void>;
}

/** Wires the PingOne client, the audit sink and the logger into the tools' dependencies. */
export function assemble(options: {
  config: Config;
  pingone: PingOneSettings;
  audit: AuditSink;
  logger: Logger;
  sandbox: boolean;
  callTimeoutMs?: number;
  /** Records PingOne request latency and status (HTTP mode's /metrics). */
  telemetry?: Telemetry;
  /** Shared write limits and confirmation ledger (e.g. PostgreSQL for replicas); in-process when absent. */
  stores?: { limiter: WriteLimiter; ledger: ConfirmationLedger };
}): AppParts {
  const { pingone: settings } = options;
  const exchangeOptions = {
    agent: { connectTimeout: TIMEOUTS.connectMs, headersTimeout: TIMEOUTS.headersMs, bodyTimeout: TIMEOUTS.bodyMs },
    userAgent: USER_AGENT,
    policy: DEFAULT_RETRY_POLICY,
    maxBodyBytes: MAX_BODY_BYTES,
  };
  const http = options.telemetry ? new MeteredExchange(exchangeOptions, options.telemetry) : new HttpExchange(exchangeOptions);
  const tokens = new ClientCredentialsTokenSource({
    tokenUrl: `${settings.authUrl}/${settings.authEnvironmentId}/as/token`,
    credentials: { clientId: settings.clientId, clientSecret: settings.clientSecret, method: settings.tokenAuthMethod },
    http,
    timeoutMs: TIMEOUTS.tokenMs,
  });
  const stdioOperator: Operator = { verified: false, ...(options.config.operator === undefined ? {} : { displayName: options.config.operator }) };
  const client = new PingOneClient({ apiUrl: settings.apiUrl, environmentId: settings.environmentId, tokens, http });
  const deps: ToolDeps = {
    pingone: client,
    audit: options.audit,
    sandbox: options.sandbox,
    callTimeoutMs: options.callTimeoutMs ?? TIMEOUTS.callMs,
    actor: localActor(),
    operatorOf: () => stdioOperator,
    scopes: options.config.oauth.policy.scopes,
    logger: options.logger,
    inFlight: new InFlightCalls(),
    gate: new CallGate(options.config.calls),
    guards: options.config.guards,
    // In-process unless the composition chose shared stores (PostgreSQL, for replicas).
    writeLimiter: options.stores?.limiter ?? new MemoryWriteLimiter({ total: options.config.guards.maxWritesPerMinute, perOperator: options.config.guards.maxWritesPerOperatorPerMinute }),
    confirmation: new ConfirmationGate(
      options.config.guards.confirm,
      options.stores?.ledger ?? new MemoryConfirmationLedger(),
      options.config.confirmKey === undefined ? undefined : Buffer.from(options.config.confirmKey, 'utf8'),
    ),
  };
  const warmUp = async (): Promise<boolean> => {
    const scope = createCallScope({ transactionId: `readiness-${nodeCrypto().randomUUID()}`, cancelledBy: [], timeoutMs: TIMEOUTS.tokenMs });
    return tokens
      .get(scope)
      .then(
        () => true,
        () => false,
      )
      .finally(() => scope.end());
  };
  const anonymous: Operator = { verified: false };
  // A verified token names the operator of an HTTP call; loopback HTTP without OAuth has nobody to name.
  const httpDeps: ToolDeps = { ...deps, operatorOf: (ctx) => (ctx.http?.authInfo === undefined ? anonymous : operatorFromAuthInfo(ctx.http.authInfo)) };
  return { deps, httpDeps, tokenRequests: () => tokens.requests, hasRecentToken: (withinMs) => {
      const now = Date.now();
      return (tokens.cachedUntil ?? 0) > now || now - (tokens.lastSuccessAt ?? -Infinity) <= withinMs;
    },
    warmUp, close: () => http.close() };
}
