/**
 * The bytes a flow holds while it probes (./app-tx.ts): copies of the caller's chunks, joined
 * per direction for the probes and the parser; which protocols already said no.
 */
import { APP_PROTOCOLS } from '../app-layer/registry.js';
import type { AppProtocol } from '../app-layer/types.js';
import type { AppFlow } from './types.js';

/** Bit of each protocol in AppFlow.probedNo (its index in APP_PROTOCOLS; 0 past 31: never remembered). */
export const PROTO_BIT = new Map<AppProtocol, number>(APP_PROTOCOLS.map((p, i) => [p, i < 31 ? 1 << i : 0]));

const NAMES = new Map<AppProtocol, string>(APP_PROTOCOLS.map((p) => [p, p.name]));
/**
 * The protocol's name through a Map: the AppProtocol objects have one map per protocol, so
 * reading `.name` in the inspection deoptimized it ("wrong map") each time one more turned up.
 */
export function protoName(p: AppProtocol): string {
  return NAMES.get(p) ?? p.name;
}

/**
 * Removes the keys up to `max` (numbers) of a flow's per-tx map or set. One function for the
 * three of them: its loop body has type feedback from the first release on, where three loops
 * in inspect each deoptimized it the first time their container was not empty.
 */
export function dropKeysUpTo(keys: Map<number, unknown> | Set<number>, max: number): void {
  for (const k of keys.keys()) if (k <= max) keys.delete(k);
}

/** A copy of data[off, off + len) in an array of its own. */
export function copyOf(data: Uint8Array, off: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(new Uint8Array(data.buffer, data.byteOffset + off, len));
  return out;
}

/** The bytes held in direction k, as one array (joined, and kept joined, when there were several). */
export function heldBytes(f: AppFlow, k: 0 | 1): Uint8Array {
  const h = f.held[k];
  if (h.length === 1) return h[0]!;
  const b = concat(h, f.heldLen[k]);
  f.held[k] = [b];
  return b;
}

/** ports.includes(port) as a loop: Array.prototype.includes inlined into probe deopted it ("wrong name"). */
export function hasPort(ports: readonly number[], port: number): boolean {
  for (let i = 0; i < ports.length; i++) if (ports[i] === port) return true;
  return false;
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

/**
 * One protocol as AppTxDetector.probe asks it, every field set: one shape for all of them (the
 * AppProtocol objects have as many shapes as protocols, each a map check or a deopt in probe).
 */
export class ProbeEntry {
  constructor(
    readonly proto: AppProtocol,
    /** PROTO_BIT of the protocol. */
    readonly bit: number,
    readonly portsOnly: boolean,
    readonly hintPorts: readonly number[],
    readonly mayRevise: boolean,
    /** probeDirections as direction indexes (0 to_server, 1 to_client). */
    readonly dirs: readonly number[],
  ) {}
}

/** The protocols to probe, in order, for a flow expecting `expected` (null: a fresh flow). */
export class ProbeOrder {
  constructor(
    readonly expected: AppProtocol | null,
    readonly entries: readonly ProbeEntry[],
  ) {}
}

function entryOf(p: AppProtocol): ProbeEntry {
  return new ProbeEntry(p, PROTO_BIT.get(p) ?? 0, p.probePortsOnly === true, p.hintPorts, p.probeMayRevise === true, p.probeDirections.map((d) => (d === 'to_server' ? 0 : 1)));
}

/**
 * APP_PROTOCOLS in probing order: the expected one first, the others after in registry order;
 * an `upgradeOnly` protocol only when expected (never on a fresh flow).
 */
function makeOrder(expected: AppProtocol | null): ProbeOrder {
  const order = expected === null ? APP_PROTOCOLS : [expected, ...APP_PROTOCOLS.filter((p) => p !== expected)];
  return new ProbeOrder(expected, order.filter((p) => p.upgradeOnly !== true || p === expected).map(entryOf));
}

const FRESH = makeOrder(null);
const EXPECTING = new Map<string, ProbeOrder>();

/** The probing order of a flow whose protocol change announced `expectProto` (null: none, or not registered). */
export function probeOrder(expectProto: string | null): ProbeOrder {
  if (expectProto === null) return FRESH;
  let o = EXPECTING.get(expectProto);
  if (o === undefined) {
    const p = APP_PROTOCOLS.find((x) => x.name === expectProto);
    o = p === undefined ? FRESH : makeOrder(p);
    EXPECTING.set(expectProto, o);
  }
  return o;
}
