import { Counter, Gauge, type Metric, type Registry } from 'prom-client';

/**
 * Lease and forwarding figures for `/metrics`. Made before the daemon's registry exists (the store's fencing needs
 * the cluster node first), registered into it with `register`.
 */
export class ClusterMetrics {
  readonly adopted = new Counter({ name: 'auton_subtrees_adopted_total', help: 'Root subtrees this daemon took over (at start, on failover, on demand)', registers: [] });
  readonly released = new Counter({ name: 'auton_subtrees_released_total', help: 'Root subtrees this daemon handed over when draining', registers: [] });
  readonly lost = new Counter({ name: 'auton_leases_lost_total', help: 'Leases lost (taken by another daemon, expired while paused, database unreachable)', labelNames: ['reason'], registers: [] });
  readonly forwarded = new Counter({
    name: 'auton_forwarded_requests_total', help: 'Requests forwarded to the daemon owning their subtree, by outcome (ok: an answer came back; error: the owner did not answer)',
    labelNames: ['outcome'], registers: [],
  });
  readonly forwardSeconds = new Counter({ name: 'auton_forwarded_seconds_total', help: 'Time from forwarding a request to the first byte of the owner\'s answer', registers: [] });
  readonly unavailable = new Counter({ name: 'auton_subtree_unavailable_total', help: 'Requests answered 503 because their subtree had no reachable owner (failover under way)', registers: [] });

  register(registry: Registry, leasesHeld: () => number): void {
    for (const metric of [this.adopted, this.released, this.lost, this.forwarded, this.forwardSeconds, this.unavailable]) registry.registerMetric(metric as unknown as Metric);
    new Gauge({ name: 'auton_leases_held', help: 'Root subtrees this daemon owns now', registers: [registry], collect() { this.set(leasesHeld()); } });
  }
}
