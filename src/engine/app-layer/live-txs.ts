/**
 * Shared by the parsers that keep their open transactions in id order (`AppParser.release`):
 * drops every transaction whose id is at most `id` from the front of `live`.
 */
export function releaseThrough(live: { readonly id: number }[], id: number): void {
  let k = 0;
  while (k < live.length && live[k]!.id <= id) k++;
  if (k > 0) live.splice(0, k);
}
