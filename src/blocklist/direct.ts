/**
 * CLI direct mode: when no daemon answers on the control socket, `bulwark block/unblock/blocked`
 * act on the kernel and the state file themselves, with the same model and rules as the daemon
 * (one transaction per command, state file written atomically, never-block list enforced).
 */
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/types.js';
import { silentLogger } from '../log/index.js';
import { refreshNeverBlock, realNeverBlockSources, type NeverBlockSources } from './adapters.js';
import { dryRunNft } from './dryrun.js';
import { createNft } from './nft.js';
import { parseKernelElements } from './kernel-check.js';
import { refScheduler } from '../scheduler.js';
import { BlocklistService } from './service.js';
import { blockedNetSet, blockedSet } from './ruleset.js';
import { loadState } from './state.js';
import { TABLE_NAME, type BlockEntry, type Nft } from './types.js';

export interface DirectOptions {
  nft?: Nft;
  log?: Logger;
  clock?: Clock;
  sources?: NeverBlockSources;
}

/**
 * A started BlocklistService without timers or batching delay; the caller runs one operation,
 * then stop() (flushes and writes the state file). In dry-run mode nothing is applied.
 */
export async function openDirectBlocklist(config: Config, o: DirectOptions = {}): Promise<BlocklistService> {
  const log = o.log ?? silentLogger();
  const real = o.nft ?? createNft({ log });
  const svc = new BlocklistService({
    nft: config.action === 'dry-run' ? dryRunNft(real, log, () => true) : real,
    clock: o.clock ?? systemClock,
    log,
    registry: new Registry(),
    stateDir: config.stateDir,
    // The operator's explicit command blocks even in alert mode; dry-run still changes nothing.
    mode: config.action === 'dry-run' ? 'dry-run' : 'block',
    defaultDurationMs: config.blockDurationMs,
    maxBlocksPerMinute: 0,
    batchDelayMs: 0,
    reconcileIntervalMs: 0,
    stateWriteDelayMs: 0,
    scheduler: refScheduler,
  });
  await refreshNeverBlock(svc.neverBlock, config, o.sources ?? realNeverBlockSources(log), log);
  await svc.start();
  return svc;
}

export interface DirectListing {
  entries: BlockEntry[];
  /** False when table inet bulwark (or its blocked sets) is absent: state entries are then not enforced. */
  tablePresent: boolean;
  stateProblem: string | undefined;
}

/**
 * Read-only listing: state-file entries the kernel still holds (with their metadata), plus kernel
 * elements the state file does not know. Changes nothing (a corrupt state file is reported, not moved).
 */
export async function listDirect(config: Config, o: DirectOptions = {}): Promise<DirectListing> {
  const nft = o.nft ?? createNft();
  const now = (o.clock ?? systemClock).now();
  const loaded = loadState(config.stateDir, now, { moveCorrupt: false });
  const byAddr = new Map(loaded.entries.filter((e) => e.expiresAtMs > now).map((e) => [e.address, e]));
  const entries: BlockEntry[] = [];
  let tablePresent = true;
  // Old layout (before blockednet4/6): a missing CIDR set is simply empty.
  for (const [f, name, required] of [[4, blockedSet(4), true], [4, blockedNetSet(4), false], [6, blockedSet(6), true], [6, blockedNetSet(6), false]] as const) {
    let out;
    try {
      out = await nft.list(['set', 'inet', TABLE_NAME, name]);
    } catch {
      if (required) tablePresent = false;
      continue;
    }
    for (const k of parseKernelElements(out, f)) {
      const known = byAddr.get(k.address);
      const expiresAtMs = k.expiresSec === undefined ? now + config.blockDurationMs : now + k.expiresSec * 1000;
      entries.push(known ? { ...known, expiresAtMs } : { address: k.address, family: f, reason: 'in the kernel, not in the state file', source: 'restore', blockedAtMs: now, expiresAtMs });
    }
  }
  entries.sort((a, b) => a.blockedAtMs - b.blockedAtMs || a.address.localeCompare(b.address));
  return { entries, tablePresent, stateProblem: loaded.status === 'corrupt' ? loaded.error : undefined };
}
