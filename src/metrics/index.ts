import { Registry, collectDefaultMetrics, Gauge } from 'prom-client';

export { Registry } from 'prom-client';

/**
 * One registry per daemon (never prom-client's global one), so two daemons in one test
 * process and unit tests never share counters. Metric names: docs/metrics.md.
 */
export function createRegistry(version: string, withProcessMetrics = true): Registry {
  const registry = new Registry();
  if (withProcessMetrics) {
    collectDefaultMetrics({ register: registry, prefix: 'bulwark_' });
    // prom-client exports these gauges with a "_total" suffix, which `promtool check metrics`
    // (rightly) refuses for non-counters; they are the sums of the labelled gauges of the same
    // name without the suffix (sum(bulwark_nodejs_active_handles) gives the total).
    for (const name of ['bulwark_nodejs_active_handles_total', 'bulwark_nodejs_active_requests_total', 'bulwark_nodejs_active_resources_total']) registry.removeSingleMetric(name);
  }
  const info = new Gauge({ name: 'bulwark_build_info', help: 'Build information; always 1.', labelNames: ['version', 'node'], registers: [registry] });
  info.set({ version, node: process.version }, 1);
  return registry;
}
