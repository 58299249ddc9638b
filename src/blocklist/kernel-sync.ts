/**
 * Keeping the kernel in step with the blocklist model: the periodic check and its repairs, the
 * rare full compare, re-creating a lost table, and the restore at start (with the migration of
 * the previous layout). See docs/nftables.md "Repair" and docs/blocklist.md "State file and restore".
 *
 * It works on the service's model and transactions through SyncHost; every kernel change goes
 * through the host's lock (exclusive) and retrying transaction (applyWithRetry).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { ActionMode } from '../config/types.js';
import { cidrRange, isHostAddress, parseCidr } from './address.js';
import {
  allowSetMatches,
  canaryProbeScript,
  isOldLayout,
  layoutProblems,
  missingCanaries,
  parseKernelElements,
  parseLayout,
  type KernelElement,
  type KernelLayout,
} from './kernel-check.js';
import type { BlocklistMetrics } from './metrics.js';
import type { BlockModel } from './model.js';
import type { NeverBlockList } from './neverblock.js';
import {
  addElementsCommands,
  allowSet,
  allowSetCommands,
  blockedNetSet,
  blockedSet,
  buildInstallBatch,
  canaryCommand,
  deleteElementsCommands,
} from './ruleset.js';
import { loadState } from './state.js';
import { TABLE_NAME, type BlockEntry, type Nft, type NftCommand, type NftListOutput } from './types.js';
import { errorMessage } from '../errors.js';

/** What KernelSync needs from the blocklist service. */
export interface SyncHost {
  readonly nft: Nft;
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics: BlocklistMetrics;
  readonly model: BlockModel;
  readonly neverBlock: NeverBlockList;
  /** Addresses the model expired a moment ago (the kernel drops them up to a second later). */
  readonly recentlyExpired: ReadonlyMap<string, number>;
  readonly stateDir: string | undefined;
  readonly restoredListeners: readonly (() => void | Promise<void>)[];
  /** Longest block accepted (a sanity bound for restored entries). */
  readonly maxDurationMs: number;
  defaultDurationMs(): number;
  mode(): ActionMode;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  applyWithRetry(cmds: NftCommand[], op: string): Promise<void>;
  /** The kernel's allow sets now hold the current never-block list. */
  allowSynced(): void;
  /** The allow sets were pushed at least once (before that, their contents mean nothing). */
  allowSyncedOnce(): boolean;
  markStateDirty(): void;
  updateGauges(): void;
  scheduleExpiry(): void;
}

function hasFindings(f: KernelFindings): boolean {
  return f.missing.length > 0 || f.oldLayout || f.chains.length > 0 || f.canaries.length > 0 || !f.allowOk || f.nets !== undefined;
}

/** What the periodic check found (inspectKernel) and repair() puts right. */
export interface KernelFindings {
  missing: string[];
  oldLayout: boolean;
  /** Base chains whose rules differ from ours. */
  chains: string[];
  /** Families whose blocked set lost its canary (flushed / re-created). */
  canaries: (4 | 6)[];
  allowOk: boolean;
  /** The CIDR sets' elements, when they differ from the model. */
  nets: KernelElement[] | undefined;
}

export class KernelSync {
  lastReconcileAt: number | undefined;
  lastFullCheck: Record<string, unknown> | undefined;

  constructor(private readonly h: SyncHost) {}

  /**
   * The periodic check, cheap and independent of the number of blocks (docs/nftables.md "Repair"):
   * layout from the terse ruleset (table, sets, chains and the rules of the base chains), the
   * canaries of blocked4/blocked6 by a probe, and the contents of the small sets (blockednet*,
   * allow*): ~20-30 ms of nft. It reads outside the lock, so blocks never wait for it; when it
   * finds something, it reads again under the lock (a batch may have changed the small sets
   * meanwhile) and repairs what is still wrong. Returns true when something had to be repaired.
   */
  async reconcile(): Promise<boolean> {
    this.lastReconcileAt = this.h.clock.now();
    // dry-run never applies anything, so there is nothing to keep in step.
    if (this.h.mode() === 'dry-run') return false;
    if (!hasFindings(await this.inspectKernel())) return false;
    return this.h.exclusive(async () => {
      const f = await this.inspectKernel();
      return hasFindings(f) ? this.repair(f) : false;
    });
  }

  private async listOrCount(args: string[], terse = false): Promise<NftListOutput> {
    try {
      return await this.h.nft.list(args, { terse });
    } catch (e) {
      this.h.metrics.nftErrors.inc({ op: 'list' });
      throw e;
    }
  }

  private async inspectKernel(): Promise<KernelFindings> {
    const layout = parseLayout(await this.listOrCount(['ruleset'], true));
    const p = layoutProblems(layout);
    const f: KernelFindings = { missing: p.missing, oldLayout: p.oldLayout, chains: p.chains, canaries: [], allowOk: true, nets: undefined };
    if (p.missing.length > 0 || p.oldLayout) return f;
    let probe;
    try {
      probe = await this.h.nft.probeText(canaryProbeScript());
    } catch (e) {
      this.h.metrics.nftErrors.inc({ op: 'probe' });
      throw e;
    }
    f.canaries = missingCanaries(probe.refused);
    if (this.h.allowSyncedOnce()) {
      const ranges = this.h.neverBlock.ranges();
      for (const fam of [4, 6] as const) {
        if (!allowSetMatches(await this.listOrCount(['set', 'inet', TABLE_NAME, allowSet(fam)]), fam, ranges)) f.allowOk = false;
      }
    }
    const nets: KernelElement[] = [];
    for (const fam of [4, 6] as const) nets.push(...parseKernelElements(await this.listOrCount(['set', 'inet', TABLE_NAME, blockedNetSet(fam)]), fam));
    const now = this.h.clock.now();
    const want = new Set(this.h.model.netEntries().filter((e) => e.expiresAtMs > now).map((e) => e.address));
    if (nets.length !== want.size || nets.some((k) => !want.has(k.address))) f.nets = nets;
    return f;
  }

  /** Puts right what inspectKernel found (under the lock). */
  private async repair(f: KernelFindings): Promise<boolean> {
    if (f.missing.length > 0 || f.oldLayout) {
      await this.reinstall(f.oldLayout ? 'table of the previous layout (interval sets for addresses)' : `missing: ${f.missing.join(', ')}`, f.oldLayout);
      return true;
    }
    const now = this.h.clock.now();
    const cmds: NftCommand[] = [];
    const what: string[] = [];
    if (f.chains.length > 0) {
      // The install batch flushes and refills the base chains (and the allow sets) atomically.
      cmds.push(...buildInstallBatch({ defaultTimeoutMs: this.h.defaultDurationMs(), allow: this.h.neverBlock.ranges() }));
      what.push(`rules of chain ${f.chains.join(', ')}`);
      this.h.metrics.repairs.inc({ what: 'chains' });
    } else if (!f.allowOk) {
      cmds.push(...allowSetCommands(this.h.neverBlock.ranges()));
      what.push('never-block sets allow4/allow6');
      this.h.metrics.repairs.inc({ what: 'allow' });
    }
    for (const fam of f.canaries) {
      // The canary is gone: the set was flushed or re-created. `add` is a no-op for what is still there.
      const live = this.h.model.all().filter((e) => e.family === fam && isHostAddress(e.address) && e.expiresAtMs > now);
      cmds.push(canaryCommand(fam), ...addElementsCommands(live.map((e) => ({ address: e.address, family: e.family, timeoutMs: e.expiresAtMs - now }))));
      what.push(`contents of ${blockedSet(fam)} (${live.length} addresses)`);
      this.h.metrics.repairs.inc({ what: 'elements' });
    }
    if (f.nets !== undefined) {
      const live = this.h.model.netEntries().filter((e) => e.expiresAtMs > now);
      const d = this.diffKernel(f.nets, live, now);
      if (d.cmds.length > 0) {
        cmds.push(...d.cmds);
        what.push(`CIDR sets (${d.missing} missing, ${d.adopted} adopted, ${d.removed} removed)`);
        this.h.metrics.repairs.inc({ what: 'elements' });
      }
    }
    if (cmds.length === 0) return false;
    await this.h.applyWithRetry(cmds, 'repair');
    if (f.chains.length > 0 || !f.allowOk) this.h.allowSynced();
    this.h.log.warn({ repaired: what }, `nftables table bulwark was tampered with: repaired ${what.join('; ')}`);
    return true;
  }

  /**
   * Commands that bring kernel elements in step with `live` model entries: what the model holds
   * and the kernel lost is re-added with its time left; what the kernel holds and the model does
   * not know is adopted when a new block of it would be accepted, else deleted. Those the model
   * just expired (the kernel drops them up to a second later) are left alone.
   */
  private diffKernel(kernel: KernelElement[], live: BlockEntry[], now: number): { cmds: NftCommand[]; missing: number; adopted: number; removed: number } {
    const inKernel = new Set(kernel.map((k) => k.address));
    const add = live.filter((e) => !inKernel.has(e.address)).map((e) => ({ address: e.address, family: e.family, timeoutMs: e.expiresAtMs - now }));
    const del: KernelElement[] = [];
    let adopted = 0;
    for (const k of kernel) {
      if (this.h.model.get(k.address) || this.h.recentlyExpired.has(k.address)) continue;
      const expiresAtMs = k.expiresSec === undefined ? now + this.h.defaultDurationMs() : now + k.expiresSec * 1000;
      const why = this.restoreRefusal(k.address, expiresAtMs, now);
      if (why !== undefined || !this.restoreEntry({ address: k.address, family: k.family, reason: 'found in the kernel, not added by bulwark', source: 'restore', blockedAtMs: now, expiresAtMs })) {
        this.h.log.warn({ addr: k.address, why: why ?? 'overlaps a blocked CIDR' }, 'kernel element removed: a block of it would be refused');
        del.push(k);
      } else adopted++;
    }
    if (adopted > 0) {
      this.h.updateGauges();
      this.h.markStateDirty();
      this.h.scheduleExpiry();
    }
    return { cmds: [...deleteElementsCommands(del), ...addElementsCommands(add)], missing: add.length, adopted, removed: del.length };
  }

  /**
   * The rare deep check: lists every blocked element and puts the kernel back in step with the
   * model (diffKernel). Catches what the canary cannot: a single element deleted or added by
   * hand. One family at a time, each under the lock: nft 1.0.6 restarts a listing whenever the
   * ruleset changes under it, so listing ~1 s of elements beside a stream of our own blocks may
   * never finish (seen: killed after 60 s). A block requested meanwhile waits for that family's
   * listing (~0.3-1 s at 50k addresses) — once per fullCheckIntervalMs (10 min).
   */
  async fullCompare(): Promise<{ missing: number; adopted: number; removed: number; ms: number }> {
    const total = { missing: 0, adopted: 0, removed: 0, ms: 0 };
    if (this.h.mode() === 'dry-run') return total;
    const started = performance.now();
    for (const fam of [4, 6] as const) {
      await this.h.exclusive(async () => {
        const kernel: KernelElement[] = [];
        try {
          for (const name of [blockedSet(fam), blockedNetSet(fam)]) kernel.push(...parseKernelElements(await this.h.nft.list(['set', 'inet', TABLE_NAME, name]), fam));
        } catch (e) {
          this.h.metrics.nftErrors.inc({ op: 'list' });
          throw e;
        }
        const now = this.h.clock.now();
        const d = this.diffKernel(kernel, this.h.model.all().filter((e) => e.family === fam && e.expiresAtMs > now), now);
        if (d.cmds.length > 0) {
          await this.h.applyWithRetry(d.cmds, 'repair');
          this.h.metrics.repairs.inc({ what: 'elements' });
          this.h.log.warn({ family: fam, missing: d.missing, adopted: d.adopted, removed: d.removed }, 'blocklist full compare: kernel elements put back in step');
        }
        total.missing += d.missing;
        total.adopted += d.adopted;
        total.removed += d.removed;
      });
    }
    total.ms = performance.now() - started;
    this.h.metrics.fullCheckSeconds.set(total.ms / 1000);
    this.lastFullCheck = { at: new Date(this.h.clock.now()).toISOString(), ms: Math.round(total.ms), missing: total.missing, adopted: total.adopted, removed: total.removed };
    return total;
  }

  async tableMissing(): Promise<boolean> {
    try {
      return layoutProblems(parseLayout(await this.h.nft.list(['ruleset'], { terse: true }))).missing.length > 0;
    } catch {
      return false;
    }
  }

  /** Install + allow sets + every live block with its remaining time, one transaction. */
  async reinstall(why: string, migrate = false): Promise<void> {
    const now = this.h.clock.now();
    const live = this.h.model.all().filter((e) => e.expiresAtMs > now);
    const cmds = [
      ...buildInstallBatch({ defaultTimeoutMs: this.h.defaultDurationMs(), allow: this.h.neverBlock.ranges(), migrate }),
      // add is a no-op for elements still present; only what was lost comes back.
      ...addElementsCommands(live.map((e) => ({ address: e.address, family: e.family, timeoutMs: e.expiresAtMs - now }))),
    ];
    await this.h.applyWithRetry(cmds, 'restore');
    this.h.allowSynced();
    this.h.metrics.rulesetRestored.inc();
    this.h.metrics.repairs.inc({ what: 'table' });
    this.h.log.warn({ why, blocks: live.length }, 'nftables table bulwark was missing parts: re-created with its blocks');
    for (const fn of this.h.restoredListeners) {
      try {
        await fn();
      } catch (e) {
        this.h.log.error({ err: errorMessage(e) }, 'ruleset-restored listener failed');
      }
    }
  }

  // ---------------------------------------------------------------- internals: restore at start

  /** Reads the four blocked sets from the kernel; a missing table or set is an empty list. */
  async kernelElements(): Promise<KernelElement[]> {
    // One listing of the table: nft 1.0.6 fetches every element of the table for any listing
    // anyway (~0.3 s at 100k), so four set listings would cost more.
    try {
      return parseKernelElements(await this.h.nft.list(['table', 'inet', TABLE_NAME]));
    } catch {
      // Absent table: nothing to adopt. Other failures surface in the install that follows.
      return [];
    }
  }

  /**
   * Why an entry read back (state file, kernel) must not be blocked — the checks of a new block:
   * never-block list (loopback, own addresses, special addresses, management, configured) and a
   * sane expiry. Undefined when it may be restored.
   */
  private restoreRefusal(address: string, expiresAtMs: number, now: number): string | undefined {
    const nb = this.h.neverBlock.match(address);
    if (nb) return `never-block (${nb.source} ${nb.cidr})`;
    if (expiresAtMs - now > this.h.maxDurationMs + 60_000) return 'expiry more than 366 days ahead';
    return undefined;
  }

  /**
   * Puts a read-back entry into the model without losing protection: an existing entry keeps the
   * later expiry; a CIDR inside a blocked CIDR extends that one if it lasts longer; a CIDR around
   * blocked CIDRs absorbs them with the latest expiry. Single addresses are always kept (they live
   * in their own set). Returns true when it became an entry of its own.
   */
  private restoreEntry(e: BlockEntry): boolean {
    const existing = this.h.model.get(e.address);
    if (existing) {
      if (e.expiresAtMs > existing.expiresAtMs) this.h.model.put({ ...existing, expiresAtMs: e.expiresAtMs });
      return false;
    }
    if (isHostAddress(e.address)) {
      this.h.model.put(e);
      return true;
    }
    const c = parseCidr(e.address);
    const cover = this.h.model.coveringEntry(c);
    if (cover) {
      if (e.expiresAtMs > cover.expiresAtMs) this.h.model.put({ ...cover, expiresAtMs: e.expiresAtMs });
      return false;
    }
    let expiresAtMs = e.expiresAtMs;
    for (const r of this.h.model.containedNets(cidrRange(c))) {
      expiresAtMs = Math.max(expiresAtMs, r.expiresAtMs);
      this.h.model.remove(r.address);
    }
    this.h.model.put(expiresAtMs === e.expiresAtMs ? e : { ...e, expiresAtMs });
    return true;
  }

  async restore(): Promise<{ restored: number; adopted: number; dropped: number }> {
    const now = this.h.clock.now();
    let fromState: BlockEntry[] = [];
    if (this.h.stateDir !== undefined) {
      const loaded = loadState(this.h.stateDir, now);
      if (loaded.status === 'corrupt') {
        this.h.metrics.stateErrors.inc();
        this.h.log.error({ error: loaded.error, movedTo: loaded.movedTo }, 'blocklist state file unreadable: moved aside, starting from the kernel only');
      } else if (loaded.status === 'ok' && loaded.dropped > 0) {
        this.h.log.warn({ dropped: loaded.dropped }, 'blocklist state file: malformed entries skipped');
      }
      fromState = loaded.entries.filter((e) => e.expiresAtMs > now);
      if (fromState.length < loaded.entries.length) this.h.markStateDirty();
    }
    let layout: KernelLayout | undefined;
    try {
      layout = parseLayout(await this.h.nft.list(['ruleset'], { terse: true }));
    } catch {
      // Cannot read: the install below reports the real problem.
    }
    const migrate = layout !== undefined && isOldLayout(layout);
    const kernel = layout?.table === false ? [] : await this.kernelElements();
    this.h.model.clear();
    // Wider blocks first, so a narrower CIDR is merged into a wider one rather than the reverse.
    const prefixOf = (a: string): number => (isHostAddress(a) ? 129 : Number(a.slice(a.indexOf('/') + 1)));
    const widestFirst = <T extends { address: string }>(l: T[]): T[] => (l.some((e) => !isHostAddress(e.address)) ? [...l].sort((a, b) => prefixOf(a.address) - prefixOf(b.address)) : l);
    let dropped = 0;
    const refuse = (address: string, from: string, why: string): void => {
      dropped++;
      this.h.metrics.refused.inc({ reason: 'never-block' });
      this.h.log.warn({ addr: address, from, why }, `not restored: ${address} (${why})`);
    };
    for (const e of widestFirst(fromState)) {
      const why = this.restoreRefusal(e.address, e.expiresAtMs, now);
      if (why !== undefined) refuse(e.address, 'state file', why);
      else this.restoreEntry(e);
    }
    let adopted = 0;
    for (const k of widestFirst(kernel)) {
      const kernelExpiry = k.expiresSec === undefined ? now + this.h.defaultDurationMs() : now + k.expiresSec * 1000;
      const known = this.h.model.get(k.address);
      if (known) {
        // The kernel enforces the expiry: follow it when it disagrees with the file.
        if (k.expiresSec !== undefined && Math.abs(kernelExpiry - known.expiresAtMs) > 2000) this.h.model.put({ ...known, expiresAtMs: kernelExpiry });
        continue;
      }
      const why = this.restoreRefusal(k.address, kernelExpiry, now);
      if (why !== undefined) refuse(k.address, 'kernel', why);
      else if (this.restoreEntry({ address: k.address, family: k.family, reason: 'restored from kernel (not in state file)', source: 'restore', blockedAtMs: now, expiresAtMs: kernelExpiry })) adopted++;
    }
    // The kernel is brought to the model: what it lacks is added, what the model refused or
    // merged is deleted (deletes first: a CIDR may replace narrower ones). A migration re-creates
    // blocked4/blocked6, so everything is added back.
    const inKernel = new Set(kernel.map((k) => k.address));
    const live = this.h.model.all();
    const toAdd = (migrate ? live : live.filter((e) => !inKernel.has(e.address))).map((e) => ({ address: e.address, family: e.family, timeoutMs: e.expiresAtMs - now }));
    const toDelete = migrate ? [] : kernel.filter((k) => !this.h.model.get(k.address));
    const cmds = [
      ...buildInstallBatch({ defaultTimeoutMs: this.h.defaultDurationMs(), allow: this.h.neverBlock.ranges(), migrate }),
      ...deleteElementsCommands(toDelete),
      ...addElementsCommands(toAdd),
    ];
    await this.h.applyWithRetry(cmds, 'install');
    this.h.allowSynced();
    this.h.metrics.neverBlockRanges.set(this.h.neverBlock.ranges().length);
    if (toAdd.length > 0) this.h.metrics.blocks.inc({ source: 'restore' }, toAdd.length);
    this.h.updateGauges();
    if (migrate) this.h.log.warn({ blocks: live.length }, 'nftables table bulwark migrated to the current layout (addresses in hash sets, CIDRs in blockednet4/6)');
    if (fromState.length > 0 || kernel.length > 0) {
      this.h.log.info({ restored: toAdd.length, alreadyInKernel: migrate ? 0 : live.length - toAdd.length, adopted, dropped, removedFromKernel: toDelete.length }, 'blocklist restored');
    }
    if (adopted > 0 || dropped > 0 || toDelete.length > 0) this.h.markStateDirty();
    return { restored: toAdd.length, adopted, dropped };
  }

}
