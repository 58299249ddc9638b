/**
 * The bytes a flow holds while it probes (./app-tx.ts): copies of the caller's chunks, joined
 * per direction for the probes and the parser; which protocols already said no.
 */
import { APP_PROTOCOLS } from '../app-layer/registry.js';
import type { AppProtocol } from '../app-layer/types.js';

/** Bit of each protocol in AppFlow.probedNo (its index in APP_PROTOCOLS; 0 past 31: never remembered). */
export const PROTO_BIT = new Map<AppProtocol, number>(APP_PROTOCOLS.map((p, i) => [p, i < 31 ? 1 << i : 0]));

/** A copy of data[off, off + len) in an array of its own. */
export function copyOf(data: Uint8Array, off: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(new Uint8Array(data.buffer, data.byteOffset + off, len));
  return out;
}

/** The parts joined, n bytes in all. */
export function concat(parts: readonly Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
