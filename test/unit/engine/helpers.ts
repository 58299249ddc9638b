/** Test helpers: rulesets from .rules text, TCP conversations as frames, engine runs. */
import { compileRuleset } from '../../../src/signatures/compile.js';
import type { DetectorSpec, Ruleset } from '../../../src/signatures/types.js';
import { Engine, type EngineOptions } from '../../../src/engine/engine.js';
import type { Detection } from '../../../src/engine/types.js';
import { tcpFrame, type PcapRecord } from '../../../src/engine/pcap-writer.js';
import { silentLogger } from '../../../src/log/index.js';
import { defaultConfig } from '../../../src/config/types.js';

export function rules(text: string, anyPorts?: number[]): Ruleset {
  return compileRuleset([{ file: 'test.rules', text }], anyPorts ? { anyPorts } : {});
}

export function withDetectors(r: Ruleset, detectors: DetectorSpec[]): Ruleset {
  return { ...r, detectors };
}

export const FIN = 1;
export const SYN = 2;
export const RST = 4;
export const PSH = 8;
export const ACK = 16;

export function bytes(s: string | Uint8Array): Uint8Array {
  return typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
}

/** A TCP conversation; every method appends frames and advances sequence numbers. */
export class Conv {
  readonly frames: PcapRecord[] = [];
  cseq: number;
  sseq: number;
  tsUs: number;
  constructor(
    readonly cli: string,
    readonly srv: string,
    readonly cport: number,
    readonly sport: number,
    opts: { tsUs?: number; cisn?: number; sisn?: number } = {},
  ) {
    this.tsUs = opts.tsUs ?? 1_700_000_000_000_000;
    this.cseq = opts.cisn ?? 1000;
    this.sseq = opts.sisn ?? 5000;
  }
  private push(fromClient: boolean, seq: number, ack: number, flags: number, payload?: Uint8Array): PcapRecord {
    this.tsUs += 1000;
    const rec = {
      tsUs: this.tsUs,
      data: tcpFrame({
        srcIp: fromClient ? this.cli : this.srv,
        dstIp: fromClient ? this.srv : this.cli,
        srcPort: fromClient ? this.cport : this.sport,
        dstPort: fromClient ? this.sport : this.cport,
        seq,
        ack,
        flags,
        ...(payload ? { payload } : {}),
      }),
    };
    this.frames.push(rec);
    return rec;
  }
  handshake(): this {
    this.push(true, this.cseq, 0, SYN);
    this.cseq = (this.cseq + 1) >>> 0;
    this.push(false, this.sseq, this.cseq, SYN | ACK);
    this.sseq = (this.sseq + 1) >>> 0;
    this.push(true, this.cseq, this.sseq, ACK);
    return this;
  }
  syn(): this {
    this.push(true, this.cseq, 0, SYN);
    return this;
  }
  /** Client data; `at` sends at an explicit relative offset from the current seq without advancing. */
  c(data: string | Uint8Array, opts: { at?: number; advance?: boolean } = {}): this {
    const b = bytes(data);
    const seq = (this.cseq + (opts.at ?? 0)) >>> 0;
    this.push(true, seq, this.sseq, ACK | PSH, b);
    if (opts.advance !== false && opts.at === undefined) this.cseq = (this.cseq + b.length) >>> 0;
    return this;
  }
  s(data: string | Uint8Array): this {
    const b = bytes(data);
    this.push(false, this.sseq, this.cseq, ACK | PSH, b);
    this.sseq = (this.sseq + b.length) >>> 0;
    return this;
  }
  advanceClient(n: number): this {
    this.cseq = (this.cseq + n) >>> 0;
    return this;
  }
  fin(): this {
    this.push(true, this.cseq, this.sseq, FIN | ACK);
    this.cseq = (this.cseq + 1) >>> 0;
    this.push(false, this.sseq, this.cseq, FIN | ACK);
    this.sseq = (this.sseq + 1) >>> 0;
    this.push(true, this.cseq, this.sseq, ACK);
    return this;
  }
  rst(): this {
    this.push(true, this.cseq, 0, RST);
    return this;
  }
}

export function engineConfig(over: Partial<EngineOptions['config']> = {}): EngineOptions['config'] {
  return { ...defaultConfig().engine, ...over };
}

export function makeEngine(ruleset: Ruleset, over: Partial<EngineOptions> = {}): { engine: Engine; detections: Detection[] } {
  const detections: Detection[] = [];
  const engine = new Engine({
    ruleset,
    config: engineConfig(),
    log: silentLogger(),
    onDetection: (d) => detections.push(d),
    ...over,
  });
  return { engine, detections };
}

export function feed(engine: Engine, frames: readonly PcapRecord[]): void {
  for (const f of frames) engine.processPacket(f.data, f.data.length, 1, f.tsUs);
}

/** Deterministic PRNG (mulberry32), the one the benchmark generator uses. */
export { rng } from '../../../bench/lib/gen.js';
