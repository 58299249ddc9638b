/** Reading the kernel from e2e tests: the elements of a set of table inet bulwark in a test host. */
import type { Host } from './netns.js';

/** Element values of `set` (addresses as strings, other values as JSON); [] when the set is absent. */
export async function nftSetElements(h: Host, set: string): Promise<string[]> {
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
