/** Reading the daemon's nftables sets inside a test host (`nft -j`), for assertions on the kernel. */
import type { Host } from './netns.js';

/** Elements of `set` in `table inet bulwark` as strings (addresses, or JSON for ranges); [] when absent. */
export async function blockedSet(h: Host, set = 'blocked4'): Promise<string[]> {
  const r = await h.exec('nft', ['-j', 'list', 'set', 'inet', 'bulwark', set]);
  if (r.code !== 0) return [];
  const j = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  const out: string[] = [];
  for (const o of j.nftables) {
    for (const e of o.set?.elem ?? []) {
      const v = (e as { elem?: { val?: unknown } }).elem?.val ?? e;
      out.push(typeof v === 'string' ? v : JSON.stringify(v));
    }
  }
  return out;
}
