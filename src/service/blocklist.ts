/**
 * Daemon component "blocklist": owns table inet bulwark's blocklist part (src/blocklist), keeps
 * the never-block list current, and answers the control commands blocklist.list / .block / .unblock.
 * Other components reach it with ctx.get<BlocklistComponent>('blocklist')?.blocklist.
 */
import { refreshNeverBlock, refreshSessions, realNeverBlockSources, type NeverBlockSources } from '../blocklist/adapters.js';
import { normalizeAddress } from '../blocklist/address.js';
import { dryRunNft } from '../blocklist/dryrun.js';
import { createNft } from '../blocklist/nft.js';
import { BlocklistService } from '../blocklist/service.js';
import type { Scheduler } from '../scheduler.js';
import type { BlockEntry, BlockResult, Nft } from '../blocklist/types.js';
import type { Config } from '../config/types.js';
import { parseDuration } from '../config/units.js';
import { BulwarkError, errorMessage } from '../errors.js';
import { LocalAddressSet } from '../engine/local-addresses.js';
import type { Component, ComponentFactory, DaemonContext } from './types.js';

/** Most entries one blocklist.list reply carries (oldest first); `total` says how many exist. */
export const LIST_LIMIT = 100_000;

export interface BlocklistComponent extends Component {
  readonly blocklist: BlocklistService;
  /**
   * The host's own addresses and interface MACs, refreshed with the never-block list (every few
   * seconds): the live engine's spoofed-source and not-for-host checks read them.
   */
  readonly localAddresses: LocalAddressSet;
}

export interface BlocklistComponentOptions {
  nft?: Nft;
  sources?: NeverBlockSources;
  scheduler?: Scheduler;
  /** How often interfaces and SSH clients are re-read (default 5 s; env BULWARK_NEVER_BLOCK_REFRESH_MS). */
  refreshIntervalMs?: number;
  /** Authenticated-session refresh (default: config sessionRefreshMs). */
  sessionRefreshMs?: number;
  /** Kernel check period (default 3 s; env BULWARK_BLOCKLIST_RECONCILE_MS). */
  reconcileIntervalMs?: number;
  /** Full compare period (default 10 min; env BULWARK_BLOCKLIST_FULL_CHECK_MS). */
  fullCheckIntervalMs?: number;
}

/** Wire form of an entry for the control socket and `bulwark blocked --json`. */
export interface BlockEntryView extends BlockEntry {
  blockedAt: string;
  expiresAt: string;
  expiresInMs: number;
}

export function entryView(e: BlockEntry, now: number): BlockEntryView {
  return { ...e, blockedAt: new Date(e.blockedAtMs).toISOString(), expiresAt: new Date(e.expiresAtMs).toISOString(), expiresInMs: Math.max(0, e.expiresAtMs - now) };
}

function envMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Duration argument: milliseconds (number) or config notation ("2h", "90m"). */
export function durationArg(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const d = parseDuration(v);
    if (d !== undefined) return d;
  }
  throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `invalid duration ${JSON.stringify(v)} (use e.g. 90m, 2h, 1d)`);
}

function stringList(v: unknown, what: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `${what} must be a string or a list of strings`);
}

function checkNeverBlockConfig(cfg: Config): void {
  for (const c of cfg.neverBlock) {
    try {
      normalizeAddress(c);
    } catch (e) {
      throw new BulwarkError('BULWARK_ERR_CONFIG', `neverBlock: ${errorMessage(e)}`, { cause: e });
    }
  }
}

export function createBlocklistComponent(opts: BlocklistComponentOptions = {}): ComponentFactory {
  return (ctx: DaemonContext): BlocklistComponent => {
    const log = ctx.log.child({ component: 'blocklist' });
    const env = process.env;
    let config = ctx.config;
    const realNft = opts.nft ?? createNft({ log });
    const nft = dryRunNft(realNft, log, () => config.action === 'dry-run');
    const sources = opts.sources ?? realNeverBlockSources(log);
    const svc = new BlocklistService({
      nft,
      clock: ctx.clock,
      log,
      registry: ctx.registry,
      ...(opts.scheduler ? { scheduler: opts.scheduler } : {}),
      stateDir: config.stateDir,
      mode: config.action,
      defaultDurationMs: config.blockDurationMs,
      maxBlocksPerMinute: config.maxBlocksPerMinute,
      onEvent: (e) => {
        ctx.bus.emitEvent(e);
      },
      reconcileIntervalMs: opts.reconcileIntervalMs ?? envMs(env, 'BULWARK_BLOCKLIST_RECONCILE_MS') ?? 3000,
      fullCheckIntervalMs: opts.fullCheckIntervalMs ?? envMs(env, 'BULWARK_BLOCKLIST_FULL_CHECK_MS') ?? 10 * 60_000,
    });
    const refreshMs = opts.refreshIntervalMs ?? envMs(env, 'BULWARK_NEVER_BLOCK_REFRESH_MS') ?? 5000;
    let refreshTimer: NodeJS.Timeout | undefined;
    let sessionTimer: NodeJS.Timeout | undefined;
    let refreshing = false;
    let sessionsBusy = false;
    const localAddresses = new LocalAddressSet();
    const onInterfaces = (addresses: string[], macs: Map<string, string> | undefined): void => {
      const ignored = localAddresses.set(addresses, macs);
      if (ignored > 0) log.warn({ ignored }, 'local addresses: some interface addresses were not usable for the spoofing check');
    };

    const refresh = async (): Promise<void> => {
      if (refreshing) return;
      refreshing = true;
      try {
        const changed = await refreshNeverBlock(svc.neverBlock, config, sources, log, onInterfaces);
        if (changed) await svc.syncAllow();
      } catch (e) {
        log.warn({ err: errorMessage(e) }, 'never-block refresh failed');
      } finally {
        refreshing = false;
      }
    };

    // Sessions change faster than the rest (an operator logs in): their own, shorter interval.
    const refreshSessionList = async (): Promise<void> => {
      if (sessionsBusy || refreshing) return;
      sessionsBusy = true;
      try {
        if (await refreshSessions(svc.neverBlock, config, sources, log)) await svc.syncAllow();
      } catch (e) {
        log.warn({ err: errorMessage(e) }, 'never-block session refresh failed');
      } finally {
        sessionsBusy = false;
      }
    };

    ctx.commands.register('blocklist.list', (args) => {
      const now = ctx.clock.now();
      // Bounded reply (the control protocol caps responses at 64 MiB; an entry is ~300 bytes).
      const limit = typeof args.limit === 'number' && args.limit > 0 ? Math.min(args.limit, LIST_LIMIT) : LIST_LIMIT;
      const all = svc.list();
      return Promise.resolve({
        now: new Date(now).toISOString(),
        mode: svc.getMode(),
        total: all.length,
        truncated: all.length > limit,
        entries: all.slice(0, limit).map((e) => entryView(e, now)),
      });
    });

    ctx.commands.register('blocklist.block', async (args) => {
      if (typeof args.address !== 'string') throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', 'address must be a string');
      const durationMs = durationArg(args.durationMs ?? args.for);
      const reason = typeof args.reason === 'string' && args.reason.trim() !== '' ? args.reason.slice(0, 512) : 'blocked by operator';
      const r: BlockResult = await svc.block(args.address, { reason, source: 'cli', ...(durationMs === undefined ? {} : { durationMs }) });
      const now = ctx.clock.now();
      return r.status === 'refused' ? r : { status: r.status, entry: entryView(r.entry, now) };
    });

    ctx.commands.register('blocklist.unblock', async (args) => {
      const all = args.all === true;
      const addresses = all ? 'all' : stringList(args.addresses, 'addresses');
      if (!all && addresses.length === 0) throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', 'nothing to unblock: give addresses or all');
      const reason = typeof args.reason === 'string' ? args.reason : 'cli';
      const r = await svc.unblockDetailed(addresses, reason);
      const now = ctx.clock.now();
      const coveredBy: Record<string, string> = {};
      for (const a of r.notBlocked) {
        const c = svc.coveredBy(a);
        if (c) coveredBy[a] = c.address;
      }
      return { removed: r.removed.map((e) => entryView(e, now)), notBlocked: r.notBlocked, coveredBy };
    });

    return {
      name: 'blocklist',
      blocklist: svc,
      localAddresses,
      async start() {
        checkNeverBlockConfig(config);
        // The never-block list must be in the kernel's allow sets from the first transaction on.
        await refreshNeverBlock(svc.neverBlock, config, sources, log, onInterfaces).catch((e: unknown) => {
          log.warn({ err: errorMessage(e) }, 'never-block: initial refresh incomplete');
        });
        const r = await svc.start();
        log.info({ mode: config.action, blocked: svc.list().length, ...r, neverBlock: svc.neverBlock.sources() }, 'blocklist ready');
        refreshTimer = setInterval(() => void refresh(), refreshMs);
        refreshTimer.unref();
        sessionTimer = setInterval(() => void refreshSessionList(), opts.sessionRefreshMs ?? config.sessionRefreshMs);
        sessionTimer.unref();
      },
      async stop() {
        if (refreshTimer) clearInterval(refreshTimer);
        if (sessionTimer) clearInterval(sessionTimer);
        refreshTimer = undefined;
        sessionTimer = undefined;
        await svc.stop();
      },
      async reload(next: Config) {
        checkNeverBlockConfig(next);
        config = next;
        svc.setMode(next.action);
        svc.setMaxBlocksPerMinute(next.maxBlocksPerMinute);
        await svc.setDefaultDuration(next.blockDurationMs);
        await refresh();
      },
      status() {
        return svc.status();
      },
    };
  };
}

export const blocklistComponent: ComponentFactory = createBlocklistComponent();
