/**
 * Counters, gauges and histograms rendered in the Prometheus text format
 * (version 0.0.4). Written here rather than taken from prom-client: that
 * library pulls in a dependency tree and default process collectors the
 * bundle does not need, while what we expose is a dozen series whose label
 * values come from closed vocabularies — never a user, operator or token.
 */

type Labels = Readonly<Record<string, string>>;

interface Series {
  render(): string[];
}

export class MetricsRegistry {
  private readonly series: Array<{ name: string; help: string; type: string; series: Series }> = [];

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    const counter = new Counter<L>(name, labelNames);
    this.series.push({ name, help, type: 'counter', series: counter });
    return counter;
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]): Histogram<L> {
    const histogram = new Histogram<L>(name, labelNames, buckets);
    this.series.push({ name, help, type: 'histogram', series: histogram });
    return histogram;
  }

  /** A value read when scraped (calls in flight, sessions open). */
  gauge(name: string, help: string, read: () => number): void {
    this.series.push({ name, help, type: 'gauge', series: { render: () => [`${name} ${format(read())}`] } });
  }

  /** A counter kept elsewhere, read when scraped. */
  counterFrom(name: string, help: string, read: () => number): void {
    this.series.push({ name, help, type: 'counter', series: { render: () => [`${name} ${format(read())}`] } });
  }

  render(): string {
    const lines: string[] = [];
    for (const { name, help, type, series } of this.series) {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...series.render());
    }
    return `${lines.join('\n')}\n`;
  }
}

export class Counter<L extends string> implements Series {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    private readonly name: string,
    private readonly labelNames: readonly L[],
  ) {}

  inc(labels: Record<L, string>, by = 1): void {
    const key = keyOf(this.labelNames, labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(key, entry);
  }

  render(): string[] {
    return [...this.values.values()].map(({ labels, value }) => `${this.name}${labelText(labels)} ${format(value)}`);
  }
}

export class Histogram<L extends string> implements Series {
  /** Per series, how many observations fell in each bucket alone (cumulated when rendered), their sum and count. */
  private readonly values = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(
    private readonly name: string,
    private readonly labelNames: readonly L[],
    private readonly buckets: readonly number[],
  ) {}

  /** Called several times per tool call: one lookup, one bucket, no allocation once the series exists. */
  observe(labels: Record<L, string>, value: number): void {
    const key = keyOf(this.labelNames, labels);
    let entry = this.values.get(key);
    if (entry === undefined) {
      entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.values.set(key, entry);
    }
    let bucket = 0;
    while (bucket < this.buckets.length && !(value <= this.buckets[bucket]!)) bucket++;
    if (bucket < this.buckets.length) entry.counts[bucket]!++;
    entry.sum += value;
    entry.count += 1;
  }

  render(): string[] {
    const lines: string[] = [];
    for (const { labels, counts, sum, count } of this.values.values()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += counts[i] ?? 0;
        lines.push(`${this.name}_bucket${labelText({ ...labels, le: format(bound) })} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${format(sum)}`, `${this.name}_count${labelText(labels)} ${count}`);
    }
    return lines;
  }
}

function keyOf(names: readonly string[], labels: Record<string, string>): string {
  if (names.length === 1) return labels[names[0]!] ?? '';
  return names.map((name) => labels[name] ?? '').join('\u0000');
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function format(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
}
