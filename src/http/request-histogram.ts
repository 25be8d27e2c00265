/** Latency buckets in seconds (the `le` labels); +Inf is implied. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

interface Series {
  labels: { method: string; route: string; status_code: string };
  /** Observations per bucket, not cumulative; the last slot is +Inf. */
  counts: number[];
  sum: number;
}

/**
 * HTTP request latency as a Prometheus histogram, counted in plain arrays. prom-client's own Histogram hashes
 * the label set on every `observe`, even for a series looked up once; here a request costs one Map lookup and
 * a short scan. It is registered in the prom-client registry as a metric and rendered at scrape time.
 */
export class RequestHistogram {
  readonly name = 'auton_http_request_duration_seconds';
  readonly help = 'HTTP request latency by route pattern (SSE streams excluded)';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  observe(method: string, route: string | undefined, statusCode: number, seconds: number): void {
    const key = `${method} ${statusCode} ${route ?? ''}`;
    let series = this.series.get(key);
    if (!series) {
      series = { labels: { method, route: route ?? 'unmatched', status_code: String(statusCode) }, counts: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0 };
      this.series.set(key, series);
    }
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    series.counts[i]! += 1;
    series.sum += seconds;
  }

  /** What prom-client's registry reads at scrape time (the shape of its own metrics' `get()`). */
  async get() {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (const { labels, counts, sum } of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= BUCKETS.length; i++) {
        cumulative += counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: i < BUCKETS.length ? BUCKETS[i]! : '+Inf' }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: cumulative });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.series.clear();
  }
}
