/**
 * Behavioural detectors driven by TCP connection events (packet time only):
 * - portscan: distinct destination ports one source sends SYNs to within a window;
 * - synflood: half-open connections (SYN without a completed handshake) per destination or source;
 * - bruteforce: new connections from one source to authentication ports within a window.
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
}

interface WindowEntry {
  startMs: number;
  count: number;
  fired: boolean;
  ports: Set<number> | null;
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
      e = { startMs: tsMs, count: 0, fired: false, ports: withPorts ? new Set<number>() : null };
      this.table.set(key, e);
    }
    return e;
  }
}

function inPorts(spec: BruteForceSpec, port: number): boolean {
  for (const r of spec.ports) if (port >= r.from && port <= r.to) return true;
  return false;
}

export interface DetectorStats {
  tracked: number;
  evictions: number;
  findings: Record<'portscan' | 'synflood' | 'bruteforce', number>;
}

/** How long a completed handshake vouches for its source (spoofing check). */
export const HANDSHAKE_MEMORY_MS = 10 * 60_000;

export class Detectors {
  private readonly scans: { spec: PortScanSpec; t: Tracker }[] = [];
  private readonly floods: { spec: SynFloodSpec; t: Tracker }[] = [];
  private readonly brutes: { spec: BruteForceSpec; t: Tracker }[] = [];
  private readonly handshakes: LRUCache<AddrKey, number>;
  readonly findings = { portscan: 0, synflood: 0, bruteforce: 0 };
  private handshakeEvictions = 0;

  constructor(
    specs: readonly DetectorSpec[],
    private readonly emit: (f: DetectorFinding) => void,
    private readonly maxTracked = 65_536,
  ) {
    this.handshakes = new LRUCache<AddrKey, number>({
      max: maxTracked,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.handshakeEvictions++;
      },
    });
    this.setSpecs(specs);
  }

  /** Replaces the specs (ruleset reload); trackers start over, handshake memory is kept. */
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
    for (const { spec, t } of this.scans) {
      const e = t.entry(src, tsMs, spec.seconds * 1000, true);
      const ports = e.ports!;
      if (ports.size < spec.distinctPorts) ports.add(dstPort);
      if (!e.fired && ports.size >= spec.distinctPorts) {
        e.fired = true;
        this.findings.portscan++;
        this.emit({ spec, key: src, details: { distinct_ports: ports.size, window_s: spec.seconds } });
      }
    }
    for (const { spec, t } of this.floods) {
      const key = spec.track === 'by_dst' ? dst : src;
      const e = t.entry(key, tsMs, spec.seconds * 1000, false);
      e.count++;
      if (!e.fired && e.count >= spec.count) {
        e.fired = true;
        this.findings.synflood++;
        this.emit({ spec, key, details: { half_open: e.count, window_s: spec.seconds, track: spec.track } });
      }
    }
    for (const { spec, t } of this.brutes) {
      if (!inPorts(spec, dstPort)) continue;
      const e = t.entry(src, tsMs, spec.seconds * 1000, false);
      e.count++;
      if (!e.fired && e.count >= spec.count) {
        e.fired = true;
        this.findings.bruteforce++;
        this.emit({ spec, key: src, details: { connections: e.count, window_s: spec.seconds, dest_port: dstPort } });
      }
    }
  }

  /**
   * The handshake of a connection src→dst (first SYN at synTsMs) completed. Only a `verified` one
   * (docs/engine.md, "Handshake evidence") makes src a peer that completed a handshake recently;
   * any completed one takes its SYN back from the half-open counts.
   */
  onHandshake(src: AddrKey, dst: AddrKey, synTsMs: number, tsMs: number, verified = true): void {
    if (verified) this.handshakes.set(src, tsMs);
    for (const { spec, t } of this.floods) {
      const e = t.table.get(spec.track === 'by_dst' ? dst : src);
      if (e !== undefined && synTsMs >= e.startMs && e.count > 0) e.count--;
    }
  }

  /** True when `src` completed a TCP handshake within HANDSHAKE_MEMORY_MS before tsMs. */
  completedRecently(src: AddrKey, tsMs: number): boolean {
    const t = this.handshakes.get(src);
    return t !== undefined && tsMs - t <= HANDSHAKE_MEMORY_MS;
  }

  stats(): DetectorStats {
    let tracked = this.handshakes.size;
    let evictions = this.handshakeEvictions;
    for (const x of [...this.scans, ...this.floods, ...this.brutes]) {
      tracked += x.t.table.size;
      evictions += x.t.evictions;
    }
    return { tracked, evictions, findings: { ...this.findings } };
  }
}
