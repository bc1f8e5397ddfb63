import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { createTelemetry } from '../../src/metrics/telemetry.js';

describe('the Prometheus registry', () => {
  it('renders counters, cumulative histogram buckets and gauges in the text format', () => {
    const registry = new MetricsRegistry();
    const counter = registry.counter('c_total', 'A counter.', ['kind']);
    const histogram = registry.histogram('h_seconds', 'A histogram.', ['kind'], [0.1, 1]);
    let live = 3;
    registry.gauge('g', 'A gauge.', () => live);
    counter.inc({ kind: 'a' });
    counter.inc({ kind: 'a' }, 2);
    histogram.observe({ kind: 'x' }, 0.05);
    histogram.observe({ kind: 'x' }, 0.5);
    histogram.observe({ kind: 'x' }, 5);
    live = 4;
    expect(registry.render()).toBe(
      [
        '# HELP c_total A counter.',
        '# TYPE c_total counter',
        'c_total{kind="a"} 3',
        '# HELP h_seconds A histogram.',
        '# TYPE h_seconds histogram',
        'h_seconds_bucket{kind="x",le="0.1"} 1',
        'h_seconds_bucket{kind="x",le="1"} 2',
        'h_seconds_bucket{kind="x",le="+Inf"} 3',
        'h_seconds_sum{kind="x"} 5.55',
        'h_seconds_count{kind="x"} 3',
        '# HELP g A gauge.',
        '# TYPE g gauge',
        'g 4',
        '',
      ].join('\n'),
    );
  });

  it('counts a value on a bucket bound in that bucket, one above every bound only in +Inf, and keeps series apart', () => {
    const registry = new MetricsRegistry();
    const histogram = registry.histogram('h_seconds', 'A histogram.', ['kind', 'status'], [0.1, 1, 10]);
    for (const value of [0.1, 1, 1, 10, 11]) histogram.observe({ kind: 'api', status: '200' }, value);
    histogram.observe({ kind: 'api', status: '500' }, 0.01);
    const text = registry.render();
    expect(text).toContain('h_seconds_bucket{kind="api",status="200",le="0.1"} 1\n');
    expect(text).toContain('h_seconds_bucket{kind="api",status="200",le="1"} 3\n');
    expect(text).toContain('h_seconds_bucket{kind="api",status="200",le="10"} 4\n');
    expect(text).toContain('h_seconds_bucket{kind="api",status="200",le="+Inf"} 5\n');
    expect(text).toContain('h_seconds_count{kind="api",status="200"} 5\n');
    expect(text).toContain('h_seconds_sum{kind="api",status="200"} 23.1\n');
    expect(text).toContain('h_seconds_bucket{kind="api",status="500",le="0.1"} 1\n');
    expect(text).toContain('h_seconds_bucket{kind="api",status="500",le="10"} 1\n');
  });

  it('escapes label values and keeps unknown tools and odd outcomes out of the labels', () => {
    const registry = new MetricsRegistry();
    registry.counter('x_total', 'X.', ['v']).inc({ v: 'a"b\\c\nd' });
    expect(registry.render()).toContain('x_total{v="a\\"b\\\\c\\nd"} 1');
    const telemetry = createTelemetry();
    telemetry.toolCall('jdoe@example.com', 'Jane Doe');
    telemetry.toolCall('unlock_user', 'unlocked');
    const text = telemetry.render();
    expect(text).toContain('pingone_mcp_tool_calls_total{tool="other",outcome="other"} 1');
    expect(text).toContain('pingone_mcp_tool_calls_total{tool="unlock_user",outcome="unlocked"} 1');
    expect(text).not.toMatch(/jdoe|Jane/);
  });
});
