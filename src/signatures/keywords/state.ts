/**
 * The rule-language state the engine's detect stage holds, behind one small interface:
 *
 *   FlowRuleState  per flow: flowbits, flowints and the VerifyContext handed to verify
 *   RuleState      per engine: the xbits host/pair table; builds the context for a packet
 *                  (`prepare`) and applies a matched rule's post-match actions (`onMatch`)
 *
 * Pure: time is the packet's (ms), no I/O. The engine calls
 *   ctx = ruleState.prepare(flowState, addrs, nowMs, sizes)   before verifying a candidate
 *   noalert = ruleState.onMatch(sig, flowState, addrs, nowMs) when it matched
 * Post-match order is Suricata's: flowbits, flowint modifiers, xbits set/unset/toggle; they apply
 * even when the alert is then suppressed or the rule says noalert.
 */
import type { FlowbitOp, Signature, VerifyContext } from '../types.js';
import { applyFlowint } from './flowint.js';
import { XbitStore, type PacketAddrs, type XbitSpec } from './xbits.js';
import type { StreamSizes } from './stream-size.js';
import { DatasetStore } from './dataset-store.js';

export class FlowRuleState {
  flowbits: Set<string> | null = null;
  flowints: Map<string, number> | null = null;
  /** pcre `flow:` captures (Suricata flowvars), in the order first set; at most MAX_FLOWVARS names. */
  flowvars: Map<string, string> | null = null;
  /** Reused per flow; its packet-dependent fields are refreshed by RuleState.prepare. */
  readonly ctx: {
    flowbits: ReadonlySet<string>;
    flowints?: ReadonlyMap<string, number>;
    xbits?: { holds(s: XbitSpec): boolean };
    streamSize?: StreamSizes;
    datasets?: DatasetStore;
  } = { flowbits: EMPTY_BITS };
}

const EMPTY_BITS: ReadonlySet<string> = new Set<string>();
const NO_ADDRS = (): PacketAddrs => ({ src: '', dst: '' });

/** Suricata's stream size of one side (`next_seq - isn`): in-order bytes plus one for the SYN. */
export function streamSizeOf(started: boolean, base: number, nextSeq: number): number {
  return started ? ((nextSeq - base) >>> 0) + 1 : 0;
}

export interface RuleStateOptions {
  /** Most xbits held at once (host and pair bits together). */
  maxXbits?: number;
}

export interface RuleStateStats {
  xbits: number;
  xbitsEvicted: number;
  xbitsExpired: number;
  /** pcre flow captures not stored because their flow already had MAX_FLOWVARS names. */
  flowvarsDropped: number;
}

/** Most flowvar names one flow holds (a capture of a new name past it is dropped and counted). */
export const MAX_FLOWVARS = 64;

export class RuleState {
  readonly xbits: XbitStore;
  /** The ruleset's datasets, shared by every flow (synced on ruleset swaps, see Detect.setRuleset). */
  readonly datasets = new DatasetStore();
  /**
   * The packet the current xbits view answers for (one view object, rebound per prepare). The
   * addresses are asked for only when a rule tests an xbit (formatting them costs).
   */
  private addrs: () => PacketAddrs = NO_ADDRS;
  private nowMs = 0;
  private readonly view = { holds: (s: XbitSpec): boolean => this.xbits.holds(s, this.addrs(), this.nowMs) };

  constructor(opts: RuleStateOptions = {}) {
    this.xbits = new XbitStore(opts.maxXbits ?? 65_536);
  }

  /** The VerifyContext for one packet of a flow. `sizes` absent: stream_size never matches. */
  prepare(fs: FlowRuleState, addrs: () => PacketAddrs, nowMs: number, sizes?: StreamSizes): VerifyContext {
    this.addrs = addrs;
    this.nowMs = nowMs;
    const ctx = fs.ctx;
    ctx.flowbits = fs.flowbits ?? EMPTY_BITS;
    if (fs.flowints !== null) ctx.flowints = fs.flowints;
    ctx.xbits = this.view;
    ctx.datasets = this.datasets;
    if (sizes !== undefined) ctx.streamSize = sizes;
    else delete ctx.streamSize;
    return ctx;
  }

  /** Applies the post-match actions of `sig`; returns true when the rule must not alert (noalert). */
  onMatch(sig: Signature, fs: FlowRuleState, addrs: () => PacketAddrs, nowMs: number): boolean {
    let noalert = false;
    // dataset set/unset the verification of `sig` recorded (Suricata changes the set as it
    // matches); only a signature with dataset keywords has its own pending operations.
    if (sig.buffers?.some((l) => l.datasets !== undefined) === true) this.datasets.commit();
    for (const op of sig.flowbits) {
      if (op.op === 'noalert') noalert = true;
      else applyFlowbit(op, (fs.flowbits ??= new Set<string>()));
    }
    if (sig.flowints !== undefined) {
      for (const f of sig.flowints) applyFlowint(f, (fs.flowints ??= new Map<string, number>()));
    }
    if (sig.xbits !== undefined) {
      const a = addrs();
      for (const x of sig.xbits) this.xbits.apply(x, a, nowMs);
    }
    return noalert;
  }

  /**
   * Stores the `flow:` captures of a matched rule on its flow (Suricata's post-match flowvar
   * store: a name set again takes the new value and keeps its place).
   */
  setFlowvars(fs: FlowRuleState, vars: readonly { name: string; value: string }[]): void {
    const m = (fs.flowvars ??= new Map<string, string>());
    for (const v of vars) {
      if (!m.has(v.name) && m.size >= MAX_FLOWVARS) {
        this.flowvarsDropped++;
        continue;
      }
      m.set(v.name, v.value);
    }
  }

  private flowvarsDropped = 0;

  stats(): RuleStateStats {
    const s = this.xbits.stats();
    return { xbits: s.entries, xbitsEvicted: s.evicted, xbitsExpired: s.expired, flowvarsDropped: this.flowvarsDropped };
  }
}

function applyFlowbit(op: FlowbitOp, bits: Set<string>): void {
  for (const n of op.names) {
    if (op.op === 'set') bits.add(n);
    else if (op.op === 'unset') bits.delete(n);
    else if (op.op === 'toggle') {
      if (bits.has(n)) bits.delete(n);
      else bits.add(n);
    }
  }
}
