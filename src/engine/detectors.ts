/**
 * Behavioural detectors driven by TCP connection events (packet time only):
 * - portscan: distinct destination ports one source sends SYNs to within a window;
 * - synflood: half-open connections (SYN without a completed handshake) per destination or source;
 * - bruteforce: new connections from one source to authentication ports within a window.
 * Evidence (docs/response.md "Half-open evidence"): SYNs and FIN/NULL/Xmas probes need no answer,
 * so anyone can send them in any address's name. Portscan and synflood findings are therefore
 * `half-open` evidence; a bruteforce finding has `handshake` evidence once at least half of its
 * count of connections from the source completed verified handshakes within the window (a
 * spoofer completes none), and fires once more, upgraded, when its handshakes catch up.
 * Windows are fixed: they start at the first event of a key and last `seconds`; a detector fires
 * at most once per key and window. Every tracker is an LRU bounded by `maxTracked` (evictions
 * counted): an evicted key starts over, which can only delay a finding.
 */
import { LRUCache } from 'lru-cache';
import type { BruteForceSpec, DetectorSpec, PortScanSpec, SynFloodSpec } from '../signatures/types.js';

export type AddrKey = number | string;

export interface DetectorFinding {
  spec: DetectorSpec;
  /** Address the finding is about (source for by_src, destination for by_dst). */
  key: AddrKey;
  details: Record<string, number | string>;
  /** half-open: SYNs/probes only (forgeable); handshake: the source's own handshakes completed. */
  evidence: 'half-open' | 'handshake';
  /** Start of the window the finding counted (packet time). */
  windowStartMs: number;
}

interface WindowEntry {
  startMs: number;
  count: number;
  fired: boolean;
  ports: Set<number> | null;
  /** bruteforce: verified handshakes of the source to the tracked ports within the window. */
  completed: number;
  /** bruteforce: fired with handshake evidence (after a half-open firing, once more). */
  upgraded: boolean;
}

class Tracker {
  readonly table: LRUCache<AddrKey, WindowEntry>;
  evictions = 0;
  constructor(max: number) {
    this.table = new LRUCache<AddrKey, WindowEntry>({
      max,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.evictions++;
      },
    });
  }
  entry(key: AddrKey, tsMs: number, windowMs: number, withPorts: boolean): WindowEntry {
    let e = this.table.get(key);
    if (e === undefined || tsMs - e.startMs >= windowMs || tsMs < e.startMs) {
      e = { startMs: tsMs, count: 0, fired: false, ports: withPorts ? new Set<number>() : null, completed: 0, upgraded: false };
      this.table.set(key, e);
    }
    return e;
  }
}

function inPorts(spec: BruteForceSpec, port: number): boolean {
  for (const r of spec.ports) if (port >= r.from && port <= r.to) return true;
  return false;
}

/** Completed handshakes that make a bruteforce finding the source's own doing: half its count. */
function handshakesNeeded(spec: BruteForceSpec): number {
  return Math.max(1, Math.ceil(spec.count / 2));
}

export interface DetectorStats {
  tracked: number;
  evictions: number;
  findings: Record<'portscan' | 'synflood' | 'bruteforce', number>;
}

export class Detectors {
  private readonly scans: { spec: PortScanSpec; t: Tracker }[] = [];
  private readonly floods: { spec: SynFloodSpec; t: Tracker }[] = [];
  private readonly brutes: { spec: BruteForceSpec; t: Tracker }[] = [];
  readonly findings = { portscan: 0, synflood: 0, bruteforce: 0 };

  constructor(
    specs: readonly DetectorSpec[],
    private readonly emit: (f: DetectorFinding) => void,
    private readonly maxTracked = 65_536,
  ) {
    this.setSpecs(specs);
  }

  /** Replaces the specs (ruleset reload); trackers start over. */
  setSpecs(specs: readonly DetectorSpec[]): void {
    this.scans.length = 0;
    this.floods.length = 0;
    this.brutes.length = 0;
    for (const spec of specs) {
      const t = new Tracker(this.maxTracked);
      if (spec.kind === 'portscan') this.scans.push({ spec, t });
      else if (spec.kind === 'synflood') this.floods.push({ spec, t });
      else this.brutes.push({ spec, t });
    }
  }

  get active(): boolean {
    return this.scans.length + this.floods.length + this.brutes.length > 0;
  }

  /** A connection attempt: SYN without ACK from src to dst:dstPort. */
  onSyn(src: AddrKey, dst: AddrKey, dstPort: number, tsMs: number): void {
    this.scanPort(src, dstPort, tsMs, 'syn');
    for (const { spec, t } of this.floods) {
      const key = spec.track === 'by_dst' ? dst : src;
      const e = t.entry(key, tsMs, spec.seconds * 1000, false);
      e.count++;
      if (!e.fired && e.count >= spec.count) {
        e.fired = true;
        this.findings.synflood++;
        this.emit({ spec, key, details: { half_open: e.count, window_s: spec.seconds, track: spec.track }, evidence: 'half-open', windowStartMs: e.startMs });
      }
    }
    for (const { spec, t } of this.brutes) {
      if (!inPorts(spec, dstPort)) continue;
      const e = t.entry(src, tsMs, spec.seconds * 1000, false);
      e.count++;
      if (!e.fired && e.count >= spec.count) {
        e.fired = true;
        this.findings.bruteforce++;
        const proven = e.completed >= handshakesNeeded(spec);
        if (proven) e.upgraded = true;
        this.emit({ spec, key: src, details: { connections: e.count, handshakes: e.completed, window_s: spec.seconds, dest_port: dstPort }, evidence: proven ? 'handshake' : 'half-open', windowStartMs: e.startMs });
      }
    }
  }

  /**
   * A stray FIN, NULL or Xmas probe (no SYN, no ACK, no flow): nmap -sF/-sN/-sX. Counts towards
   * the portscan detectors like a SYN (half-open evidence).
   */
  onProbe(src: AddrKey, dstPort: number, tsMs: number, kind: 'fin' | 'null' | 'xmas'): void {
    this.scanPort(src, dstPort, tsMs, kind);
  }

  private scanPort(src: AddrKey, dstPort: number, tsMs: number, probe: 'syn' | 'fin' | 'null' | 'xmas'): void {
    for (const { spec, t } of this.scans) {
      const e = t.entry(src, tsMs, spec.seconds * 1000, true);
      const ports = e.ports!;
      if (ports.size < spec.distinctPorts) ports.add(dstPort);
      if (!e.fired && ports.size >= spec.distinctPorts) {
        e.fired = true;
        this.findings.portscan++;
        this.emit({ spec, key: src, details: { distinct_ports: ports.size, window_s: spec.seconds, probe }, evidence: 'half-open', windowStartMs: e.startMs });
      }
    }
  }

  /**
   * The handshake of a connection src→dst:dstPort (first SYN at synTsMs) completed. Any completed
   * one takes its SYN back from the half-open counts; only a `verified` one (docs/engine.md,
   * "Handshake evidence") counts as the source's own connection for the bruteforce evidence.
   */
  onHandshake(src: AddrKey, dst: AddrKey, dstPort: number, synTsMs: number, tsMs: number, verified = true): void {
    for (const { spec, t } of this.floods) {
      const e = t.table.get(spec.track === 'by_dst' ? dst : src);
      if (e !== undefined && synTsMs >= e.startMs && e.count > 0) e.count--;
    }
    if (!verified) return;
    for (const { spec, t } of this.brutes) {
      if (!inPorts(spec, dstPort)) continue;
      const e = t.table.get(src);
      if (e === undefined || synTsMs < e.startMs || tsMs - e.startMs >= spec.seconds * 1000) continue;
      e.completed++;
      if (e.fired && !e.upgraded && e.completed >= handshakesNeeded(spec)) {
        e.upgraded = true;
        this.findings.bruteforce++;
        this.emit({ spec, key: src, details: { connections: e.count, handshakes: e.completed, window_s: spec.seconds, dest_port: dstPort }, evidence: 'handshake', windowStartMs: e.startMs });
      }
    }
  }

  stats(): DetectorStats {
    let tracked = 0;
    let evictions = 0;
    for (const x of [...this.scans, ...this.floods, ...this.brutes]) {
      tracked += x.t.table.size;
      evictions += x.t.evictions;
    }
    return { tracked, evictions, findings: { ...this.findings } };
  }
}
