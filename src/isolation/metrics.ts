/**
 * Isolation's metrics (docs/metrics.md): whether the host is isolated, packets dropped by
 * isolation, connections severed, re-applications. The drop counts come from nft named counters
 * that restart at 0 when the table is re-created; DropCounters keeps the metric monotonic.
 * Separate from the manager because it is metric plumbing (prom-client collect callbacks and the
 * counter arithmetic), not isolation policy.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { KernelView } from './kernel.js';
import { ISO_COUNTERS } from './types.js';

/** Totals of the kernel's iso_dropped_* counters across table re-creations, and what was reported. */
export class DropCounters {
  private total: Record<string, number> = {};
  private reported: Record<string, number> = {};
  private base: Record<string, number> = {};

  /** Takes the counters of a fresh kernel view. */
  update(view: KernelView): void {
    for (const c of ISO_COUNTERS) {
      const k = view.counters[c]?.packets;
      if (k === undefined) continue;
      // A recreated table restarts the kernel counters at 0: keep the metric monotonic.
      const prevKernel = (this.total[c] ?? 0) - (this.base[c] ?? 0);
      if (k < prevKernel) this.base[c] = this.total[c] ?? 0;
      this.total[c] = (this.base[c] ?? 0) + k;
    }
  }

  /** Hands the increase since the last report of each direction to `inc` (0 once, so the series exists). */
  report(inc: (direction: string, n: number) => void): void {
    for (const c of ISO_COUNTERS) {
      const dir = c.slice('iso_dropped_'.length);
      const total = this.total[c] ?? 0;
      const reported = this.reported[c] ?? 0;
      if (total > reported) {
        inc(dir, total - reported);
        this.reported[c] = total;
      } else if (reported === 0) inc(dir, 0);
    }
  }
}

export interface IsolationMetrics {
  active: Gauge;
  dropped: Counter;
  severed: Counter;
  reapplied: Counter;
}

export function createIsolationMetrics(registry: Registry, isActive: () => boolean, drops: DropCounters): IsolationMetrics {
  const m: IsolationMetrics = {
    active: new Gauge({
      name: 'bulwark_isolation_active',
      help: '1 while the host is isolated from the network (by state), else 0.',
      registers: [registry],
      collect() {
        this.set(isActive() ? 1 : 0);
      },
    }),
    dropped: new Counter({
      name: 'bulwark_isolation_dropped_packets_total',
      help: 'Packets dropped by isolation (nft named counters iso_dropped_*, read every verify period).',
      labelNames: ['direction'],
      registers: [registry],
      collect() {
        drops.report((direction, n) => {
          this.inc({ direction }, n);
        });
      },
    }),
    severed: new Counter({ name: 'bulwark_isolation_severed_connections_total', help: 'Connections cut when isolation started (sockets destroyed plus conntrack entries removed).', registers: [registry] }),
    reapplied: new Counter({
      name: 'bulwark_isolation_reapplied_total',
      help: 'Isolation put back into the kernel: after a daemon restart or reboot (restart), or because the rules disappeared (tamper).',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
  m.reapplied.inc({ reason: 'restart' }, 0);
  m.reapplied.inc({ reason: 'tamper' }, 0);
  return m;
}
