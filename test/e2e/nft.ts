/** Reading the kernel from e2e tests: the elements of a set of table inet bulwark in a test host. */
import { CANARY4, CANARY6 } from '../../src/blocklist/ruleset.js';
import type { Host } from './netns.js';

export interface SetElement {
  val: unknown;
  timeout?: number;
  expires?: number;
}

/**
 * Elements of `set` with their timeouts; [] when the set is absent. The canaries of blocked4 /
 * blocked6 (docs/nftables.md) are not blocks and are left out.
 */
export async function nftSetElems(h: Host, set: string): Promise<SetElement[]> {
  const r = await h.exec('nft', ['-j', 'list', 'set', 'inet', 'bulwark', set]);
  if (r.code !== 0) return [];
  const j = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  const out: SetElement[] = [];
  for (const o of j.nftables) {
    for (const e of o.set?.elem ?? []) {
      const el = typeof e === 'object' && e !== null && 'elem' in e ? (e as { elem: SetElement }).elem : { val: e };
      if (el.val !== CANARY4 && el.val !== CANARY6) out.push(el);
    }
  }
  return out;
}

/** Element values of `set` (addresses as strings, other values as JSON); [] when the set is absent. */
export async function nftSetElements(h: Host, set: string): Promise<string[]> {
  return (await nftSetElems(h, set)).map((e) => (typeof e.val === 'string' ? e.val : JSON.stringify(e.val)));
}
