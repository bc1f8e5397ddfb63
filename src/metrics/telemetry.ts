import type { AuditSink } from '../audit/record.js';
import { TOOL_NAMES } from '../toolNames.js';
import { MetricsRegistry, type Counter, type Histogram } from './registry.js';

/**
 * What the server measures, as one small recording interface any part of
 * the house may call (the composition wires the audit sink and the PingOne
 * exchange through it). Label values come from closed vocabularies only:
 * never a user, an operator, a token or a URL path.
 */
export interface Telemetry {
  /** A tool call ended with this outcome (one per call, as in the audit trail). */
  toolCall(tool: string, outcome: string): void;
  /** One logical PingOne request (retries included) ended: HTTP status, or `error` when there was no answer. */
  pingoneRequest(kind: PingOneRequestKind, status: number | 'error', seconds: number): void;
  /** One durable audit append ended. */
  auditAppend(ok: boolean, seconds: number): void;
  /** A value read at scrape time, e.g. calls in flight. */
  gauge(name: string, help: string, read: () => number): void;
  /** A counter kept elsewhere, read at scrape time, e.g. token requests. */
  counterFrom(name: string, help: string, read: () => number): void;
  /** The Prometheus text exposition of everything recorded. */
  render(): string;
}

export type PingOneRequestKind = 'token' | 'api';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;
const APPEND_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;
const KNOWN_TOOLS = new Set<string>(TOOL_NAMES);

export function createTelemetry(): Telemetry {
  const registry = new MetricsRegistry();
  const calls: Counter<'tool' | 'outcome'> = registry.counter('pingone_mcp_tool_calls_total', 'Tool calls by tool and outcome.', ['tool', 'outcome']);
  const pingone: Histogram<'kind' | 'status'> = registry.histogram(
    'pingone_mcp_pingone_request_seconds',
    'PingOne requests (retries included) by kind and final HTTP status.',
    ['kind', 'status'],
    LATENCY_BUCKETS,
  );
  const appends: Histogram<'result'> = registry.histogram('pingone_mcp_audit_append_seconds', 'Durable audit appends by result.', ['result'], APPEND_BUCKETS);
  return {
    toolCall: (tool, outcome) => calls.inc({ tool: KNOWN_TOOLS.has(tool) ? tool : 'other', outcome: /^[a-z_]{1,32}$/.test(outcome) ? outcome : 'other' }),
    pingoneRequest: (kind, status, seconds) => pingone.observe({ kind, status: status === 'error' ? 'error' : String(Math.trunc(status)) }, seconds),
    auditAppend: (ok, seconds) => appends.observe({ result: ok ? 'ok' : 'failed' }, seconds),
    gauge: (name, help, read) => registry.gauge(name, help, read),
    counterFrom: (name, help, read) => registry.counterFrom(name, help, read),
    render: () => registry.render(),
  };
}

/** Times every append and counts each outcome record as one finished tool call. */
export function meteredAuditSink(sink: AuditSink, telemetry: Telemetry): AuditSink {
  return {
    async append(entry) {
      const started = performance.now();
      let ok = false;
      try {
        const record = await sink.append(entry);
        ok = true;
        return record;
      } finally {
        telemetry.auditAppend(ok, (performance.now() - started) / 1000);
        // A call whose outcome could not be recorded still finished: it counts either way.
        if (entry.phase === 'outcome' && entry.outcome !== undefined) telemetry.toolCall(entry.tool, entry.outcome);
      }
    },
    status: () => sink.status(),
  };
}
