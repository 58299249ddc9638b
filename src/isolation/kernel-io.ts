/**
 * Reading isolation's part of the kernel, and lifting isolation without a daemon (CLI direct
 * mode). kernel.ts parses and checks what is read here; the manager and `bulwark isolation`
 * (when no daemon answers) both read through these, so the cheap listing lives once.
 */
import { isNftNotFound } from '../blocklist/nft.js';
import type { Nft, NftListOutput } from '../blocklist/types.js';
import type { Clock } from '../clock.js';
import { emptyView, parseKernelView, type KernelView } from './kernel.js';
import { buildLiftScript } from './ruleset.js';
import { readState, writeState } from './state.js';
import { ISO_SETS, type IsolationState } from './types.js';

/**
 * What the checks need, cheaply: `nft -t list ruleset` (rules, counters, set declarations, no
 * elements: ~16 ms) plus the elements of our own sets only. Listing the table, a chain or the
 * counters would fetch every blocked address too (measured 0.7-1.8 s with 100k blocks).
 */
export async function listIsolation(nft: Nft): Promise<NftListOutput> {
  const base = await nft.list(['ruleset'], { terse: true });
  const sets = await Promise.all(
    ['iso_on', 'iso_rst', ...ISO_SETS].map((name) =>
      nft.list(['set', 'inet', 'bulwark', name]).catch((e: unknown) => {
        if (isNftNotFound(e)) return { nftables: [] };
        throw e;
      }),
    ),
  );
  const isoSet = (o: Record<string, unknown>): boolean => {
    const s = o.set as { name?: unknown; table?: unknown; family?: unknown } | undefined;
    return s !== undefined && s.family === 'inet' && s.table === 'bulwark' && typeof s.name === 'string' && s.name.startsWith('iso_');
  };
  return { nftables: [...base.nftables.filter((o) => !isoSet(o)), ...sets.flatMap((s) => s.nftables.filter(isoSet))] };
}

/** The kernel's isolation view; a missing table is the empty view. */
export async function readKernelView(nft: Nft): Promise<KernelView> {
  try {
    return parseKernelView(await listIsolation(nft));
  } catch (e) {
    if (isNftNotFound(e)) return emptyView();
    throw e;
  }
}

/**
 * `bulwark isolation off` without a daemon: lifts the kernel rules and records it in the state
 * file. Returns whether the state file said isolated.
 */
export async function liftOffline(nft: Nft, stateDir: string, clock: Clock): Promise<{ wasActive: boolean; state: IsolationState | undefined }> {
  await nft.applyText(buildLiftScript());
  const s = await readState(stateDir);
  if (!s?.active) return { wasActive: false, state: s };
  s.active = false;
  s.endedAtMs = clock.now();
  s.endedBy = 'cli-offline';
  await writeState(stateDir, s);
  return { wasActive: true, state: s };
}
