import type { AuditSink } from './audit/record.js';
import type { Operator } from './auth/operator.js';
import type { ToolDeps } from './tools/call.js';
import type { Config, PingOneSettings } from './config.js';
import type { Logger } from './logger.js';
import { PingOneClient } from './pingone/client.js';
import { HttpExchange } from './pingone/http.js';
import { DEFAULT_RETRY_POLICY } from './pingone/retry.js';
import { ClientCredentialsTokenSource } from './pingone/token.js';
import { USER_AGENT } from './version.js';
import { localActor } from './audit/actor.js';
import { CallGate, InFlightCalls } from './lifecycle.js';
import { MemoryConfirmationLedger, MemoryWriteLimiter } from './store/memory.js';
import { ConfirmationGate } from './tools/confirm.js';

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
  deps: ToolDeps;
  /** Token requests sent so far (benchmarks and tests read it). */
  tokenRequests(): number;
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
}): AppParts {
  const { pingone: settings } = options;
  const http = new HttpExchange({
    agent: { connectTimeout: TIMEOUTS.connectMs, headersTimeout: TIMEOUTS.headersMs, bodyTimeout: TIMEOUTS.bodyMs },
    userAgent: USER_AGENT,
    policy: DEFAULT_RETRY_POLICY,
    maxBodyBytes: MAX_BODY_BYTES,
  });
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
    actor: localActor(options.config.operator === undefined ? {} : { operator: options.config.operator }),
    // Over stdio nobody is verified: one operator for every call, as configured.
    operatorOf: () => stdioOperator,
    logger: options.logger,
    inFlight: new InFlightCalls(),
    gate: new CallGate({ maxConcurrent: options.config.calls.maxConcurrent, maxQueued: options.config.calls.maxQueued }),
    guards: options.config.guards,
    writeLimiter: new MemoryWriteLimiter({ total: options.config.guards.maxWritesPerMinute, perOperator: options.config.guards.maxWritesPerOperatorPerMinute }),
    confirmation: new ConfirmationGate(options.config.guards.confirm, new MemoryConfirmationLedger()),
  };
  return { deps, tokenRequests: () => tokens.requests, close: () => http.close() };
}
