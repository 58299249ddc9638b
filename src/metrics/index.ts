import { Registry, collectDefaultMetrics, Gauge } from 'prom-client';

export { Registry } from 'prom-client';

/**
 * One registry per daemon (never prom-client's global one), so two daemons in one test
 * process and unit tests never share counters. Metric names: docs/metrics.md.
 */
export function createRegistry(version: string, withProcessMetrics = true): Registry {
  const registry = new Registry();
  if (withProcessMetrics) collectDefaultMetrics({ register: registry, prefix: 'bulwark_' });
  const info = new Gauge({ name: 'bulwark_build_info', help: 'Build information; always 1.', labelNames: ['version', 'node'], registers: [registry] });
  info.set({ version, node: process.version }, 1);
  return registry;
}
