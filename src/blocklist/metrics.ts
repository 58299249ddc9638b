/** The blocklist's metrics (docs/metrics.md, section "Blocklist"). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Returns the registered metric of that name, or registers it: src/isolation shares bulwark_nft_errors_total. */
function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  const existing = registry.getSingleMetric(name);
  return existing === undefined ? make() : (existing as unknown as T);
}

export interface BlocklistMetrics {
  blockLatency: Histogram;
  nftErrors: Counter<'op'>;
  nftTransactions: Counter;
  nftTransactionSeconds: Histogram;
  rulesetRestored: Counter;
  repairs: Counter<'what'>;
  fullCheckSeconds: Gauge;
  blockedHosts: Gauge<'family'>;
  blocks: Counter<'source'>;
  extensions: Counter;
  refused: Counter<'reason'>;
  unblocks: Counter<'reason'>;
  stateErrors: Counter;
  neverBlockRanges: Gauge;
  capacity: Gauge;
}

export const UNBLOCK_REASONS = ['expired', 'cli', 'api', 'isolation', 'replaced', 'other'] as const;

export function unblockReasonLabel(reason: string): string {
  return (UNBLOCK_REASONS as readonly string[]).includes(reason) ? reason : 'other';
}

export function createBlocklistMetrics(registry: Registry): BlocklistMetrics {
  const registers = [registry];
  return {
    blockLatency: getOrCreate(registry, 'bulwark_block_latency_seconds', () =>
      new Histogram({
        name: 'bulwark_block_latency_seconds',
        help: 'Time from detection to the block being committed in the kernel.',
        buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5],
        registers,
      }),
    ),
    nftErrors: getOrCreate(registry, 'bulwark_nft_errors_total', () =>
      new Counter({ name: 'bulwark_nft_errors_total', help: 'Failed nft invocations (each attempt), by operation.', labelNames: ['op'], registers }),
    ),
    nftTransactions: getOrCreate(registry, 'bulwark_blocklist_transactions_total', () =>
      new Counter({ name: 'bulwark_blocklist_transactions_total', help: 'nft transactions committed by the blocklist.', registers }),
    ),
    nftTransactionSeconds: getOrCreate(registry, 'bulwark_blocklist_transaction_seconds', () =>
      new Histogram({
        name: 'bulwark_blocklist_transaction_seconds',
        help: 'Duration of one committed blocklist nft transaction (process start to exit).',
        buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
        registers,
      }),
    ),
    rulesetRestored: getOrCreate(registry, 'bulwark_ruleset_restored_total', () =>
      new Counter({ name: 'bulwark_ruleset_restored_total', help: 'Times the bulwark table or one of its sets/chains was found missing and re-created.', registers }),
    ),
    repairs: getOrCreate(registry, 'bulwark_blocklist_repairs_total', () =>
      new Counter({
        name: 'bulwark_blocklist_repairs_total',
        help: 'Repairs of the kernel state by the blocklist check, by what was wrong (table, chains, elements, allow).',
        labelNames: ['what'],
        registers,
      }),
    ),
    fullCheckSeconds: getOrCreate(registry, 'bulwark_blocklist_full_check_seconds', () =>
      new Gauge({ name: 'bulwark_blocklist_full_check_seconds', help: 'Duration of the last full compare of the blocked elements with the kernel.', registers }),
    ),
    blockedHosts: getOrCreate(registry, 'bulwark_blocked_hosts', () =>
      new Gauge({ name: 'bulwark_blocked_hosts', help: 'Blocklist entries (addresses and CIDRs) currently blocked.', labelNames: ['family'], registers }),
    ),
    blocks: getOrCreate(registry, 'bulwark_blocks_total', () =>
      new Counter({ name: 'bulwark_blocks_total', help: 'New blocks committed, by who asked (detection, cli, restore, fleet: a decision shared by another host or an operator).', labelNames: ['source'], registers }),
    ),
    extensions: getOrCreate(registry, 'bulwark_block_extensions_total', () =>
      new Counter({ name: 'bulwark_block_extensions_total', help: 'Block requests for an already blocked address (expiry extended or kept).', registers }),
    ),
    refused: getOrCreate(registry, 'bulwark_blocks_refused_total', () =>
      new Counter({ name: 'bulwark_blocks_refused_total', help: 'Block requests refused, by reason (never-block, rate-limit, alert-mode, dry-run, limit).', labelNames: ['reason'], registers }),
    ),
    unblocks: getOrCreate(registry, 'bulwark_unblocks_total', () =>
      new Counter({ name: 'bulwark_unblocks_total', help: 'Blocks ended, by reason (expired, cli, api, isolation, replaced, other).', labelNames: ['reason'], registers }),
    ),
    stateErrors: getOrCreate(registry, 'bulwark_blocklist_state_errors_total', () =>
      new Counter({ name: 'bulwark_blocklist_state_errors_total', help: 'Blocklist state file read (corrupt, moved aside) or write failures.', registers }),
    ),
    capacity: getOrCreate(registry, 'bulwark_blocklist_capacity', () =>
      new Gauge({ name: 'bulwark_blocklist_capacity', help: 'Most blocklist entries the daemon holds; further blocks are refused (bulwark_blocks_refused_total{reason="limit"}).', registers }),
    ),
    neverBlockRanges: getOrCreate(registry, 'bulwark_never_block_ranges', () =>
      new Gauge({ name: 'bulwark_never_block_ranges', help: 'Merged address ranges in the never-block list (kernel allow4/allow6).', registers }),
    ),
  };
}
