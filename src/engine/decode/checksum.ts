/**
 * TCP checksum validation with Suricata's semantics: `stream.checksum-validation` (engine-wide
 * switch, config engine.checksumValidation) and, per capture, `checksum-checks` yes / no / auto
 * (config capture.checksumChecks; `bulwark scan --checksum-checks`). A packet that fails
 * validation does not feed the flow, stream, handshake or detectors (Suricata's stream engine
 * ignores it) and is counted in bulwark_packets_dropped_total{reason="bad_checksum"}.
 *
 * auto (Suricata's ChecksumAutoModeCheck): when the capture's 1000th packet arrives, validation is
 * switched off for that capture if more than one packet in ten had an invalid checksum so far
 * (integer ratio packets / invalid < 10): checksum offload, not forgery. Otherwise it stays on.
 * Offline (`bulwark scan`, Suricata's pcap-file default) invalid packets are dropped while sampling.
 * Live, packets are not dropped before the decision (see ChecksumPolicyOptions) and packets this
 * host sent are neither validated nor sampled (docs/engine.md, "Checksums").
 *
 * A capture file can be read ahead: `bulwark scan` samples the file's first 1000 TCP packets (or
 * all of them when it has fewer) before inspecting and decides from that sample with the same ratio
 * (sampleChecksums + decide). Suricata decides at its 1000th packet and validates until then, so
 * a short capture recorded on a host with checksum offload loses every stream under its default;
 * deciding first keeps the ratio's meaning (offload, not forgery) without that blind spot.
 */
import { DecodedPacket, DROP, PROTO_TCP, decodePacket } from './decode.js';
import type { CsumSpec } from '../../signatures/keywords/csum.js';

export type ChecksumChecks = 'auto' | 'yes' | 'no';
export const CHECKSUM_MODES: readonly ChecksumChecks[] = ['auto', 'yes', 'no'];

/** Suricata's CHECKSUM_SAMPLE_COUNT and CHECKSUM_INVALID_RATIO (util-checksum.h). */
export const CHECKSUM_SAMPLE_COUNT = 1000;
export const CHECKSUM_INVALID_RATIO = 10;

/**
 * True when the TCP checksum of the decoded packet is valid, false when not, undefined when it
 * cannot be computed (segment cut by the snap length; IPv6 extension headers, where a routing
 * header changes the pseudo-header's destination).
 */
export function tcpChecksumOk(p: DecodedPacket): boolean | undefined {
  if (p.payloadTruncated > 0) return undefined;
  const b = p.buf;
  const len = p.l4Length;
  const ip = p.ipOffset;
  // Pseudo-header: addresses, protocol 6 and the TCP length (< 65536: no jumbograms, so the
  // IPv6 32-bit length has no high word).
  let s = 6 + len;
  if (p.ipVersion === 4) {
    for (let i = ip + 12; i < ip + 20; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  } else {
    if (p.l4Offset !== ip + 40) return undefined;
    for (let i = ip + 8; i < ip + 40; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  }
  const o = p.l4Offset;
  const end = o + len;
  let i = o;
  // Big-endian 32-bit words, eight bytes per step in two independent sums: one (unaligned) load
  // per word instead of one per byte, ~2x faster. A word is two 16-bit words and 2^16 = 1
  // modulo 2^16 - 1, so the fold below gives the same one's complement sum. The sums stay below
  // 2^46 (exact) for any IP datagram.
  const dv = viewOf(b);
  let a = 0;
  let c = 0;
  for (; i + 7 < end; i += 8) {
    a += dv.getUint32(i);
    c += dv.getUint32(i + 4);
  }
  s += a + c;
  for (; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < end) s += b[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s === 0xffff;
}

/** A DataView of the last buffer summed: packets of one capture chunk share it (no allocation per packet). */
let viewBuf: Uint8Array | null = null;
let view: DataView = new DataView(new ArrayBuffer(0));
function viewOf(b: Uint8Array): DataView {
  if (b !== viewBuf) {
    view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    viewBuf = b;
  }
  return view;
}

export interface ChecksumPolicyOptions {
  /**
   * auto mode: drop invalid packets while the first 1000 are sampled (Suricata; what `bulwark
   * scan` does). Live captures pass false: on links with checksum offload (veth, virtio, and
   * every NIC for its own transmissions) every packet shows a partial checksum, and dropping
   * them until the decision would blind the inspector for the first 1000 packets after each start.
   */
  enforceWhileSampling: boolean;
  /** Called once when auto mode decides. */
  onDecision?: (validating: boolean, sampled: number, invalid: number) => void;
}

const SAMPLING = 0;
const ON = 1;
const OFF = 2;

/** One capture's checksum-checks state (one per live interface, one per scanned file). */
export class ChecksumPolicy {
  private state: number;
  private seen = 0;
  private bad = 0;
  /** Suricata's own auto-mode count (packets, invalid TCP checksums) for `ignoresChecksums`. */
  private kwPackets = 0;
  private kwInvalid = 0;
  private kwIgnore: boolean;

  constructor(
    readonly mode: ChecksumChecks,
    private readonly opts: ChecksumPolicyOptions,
  ) {
    this.state = mode === 'yes' ? ON : mode === 'no' ? OFF : SAMPLING;
    this.kwIgnore = mode === 'no';
  }

  /**
   * Suricata's PKT_IGNORE_CHECKSUM for the packet being processed, which the checksum keywords
   * read (csumHolds): every packet with checksum-checks no; in auto mode every packet from the
   * capture's 1000th on when, by then, more than one packet in ten had an invalid TCP checksum
   * (ChecksumAutoModeCheck at packet read, counting what stream validation found before). Unlike
   * the read-ahead `decide`, this is Suricata's decision as it makes it: a short capture never
   * ignores checksums. `validating`: stream.checksum-validation applies to the packet (only then
   * does Suricata count invalid checksums). Call once per decoded packet.
   */
  keywordPacket(p: DecodedPacket, validating: boolean): boolean {
    if (this.mode !== 'auto' || this.kwPackets >= CHECKSUM_SAMPLE_COUNT) return this.kwIgnore;
    this.kwPackets++;
    if (this.kwPackets === CHECKSUM_SAMPLE_COUNT && this.kwInvalid > 0 && Math.floor(this.kwPackets / this.kwInvalid) < CHECKSUM_INVALID_RATIO) {
      this.kwIgnore = true;
      return true;
    }
    if (validating && p.l4Proto === PROTO_TCP && tcpChecksumOk(p) === false) this.kwInvalid++;
    return false;
  }

  /** 'sampling' (auto, undecided), 'on' or 'off'. */
  get status(): 'sampling' | 'on' | 'off' {
    return this.state === SAMPLING ? 'sampling' : this.state === ON ? 'on' : 'off';
  }

  /** Packets offered and invalid ones among them (validation on or sampling). */
  get counts(): { packets: number; invalid: number } {
    return { packets: this.seen, invalid: this.bad };
  }

  /**
   * auto mode, before any packet: decides from a sample taken ahead (sampleChecksums). Validation
   * goes off when more than one sampled packet in ten is invalid, as at the 1000th packet otherwise.
   * No-op in yes/no mode or once decided.
   */
  decide(sampled: number, invalid: number): void {
    if (this.state !== SAMPLING) return;
    this.state = invalid > 0 && Math.floor(sampled / invalid) < CHECKSUM_INVALID_RATIO ? OFF : ON;
    this.opts.onDecision?.(this.state === ON, sampled, invalid);
  }

  /** Validates one decoded TCP packet; false when it must be dropped. */
  accept(p: DecodedPacket): boolean {
    if (this.state === OFF) return true;
    this.seen++;
    if (this.state === SAMPLING && this.seen === CHECKSUM_SAMPLE_COUNT) {
      this.state = this.bad > 0 && Math.floor(this.seen / this.bad) < CHECKSUM_INVALID_RATIO ? OFF : ON;
      this.opts.onDecision?.(this.state === ON, this.seen, this.bad);
      if (this.state === OFF) return true;
    }
    if (tcpChecksumOk(p) !== false) return true;
    this.bad++;
    return this.state === SAMPLING && !this.opts.enforceWhileSampling;
  }
}

/**
 * Reads ahead in a capture: feeds packets one by one (as a file reader's callback would) and counts
 * TCP packets whose checksum can be computed and the invalid ones among them, up to
 * CHECKSUM_SAMPLE_COUNT. `full` tells the reader it may stop.
 */
export class ChecksumSampler {
  sampled = 0;
  invalid = 0;
  private readonly pkt = new DecodedPacket();

  get full(): boolean {
    return this.sampled >= CHECKSUM_SAMPLE_COUNT;
  }

  offer(buf: Uint8Array, caplen: number, linkType: number, offset = 0): void {
    if (this.full) return;
    // Fragments are not reassembled here: a sample of whole packets is enough for a ratio.
    if (decodePacket(buf, offset, caplen, linkType, this.pkt) !== DROP.NONE) return;
    const ok = tcpChecksumOk(this.pkt);
    if (ok === undefined) return;
    this.sampled++;
    if (!ok) this.invalid++;
  }
}

/** True when the IPv4 header checksum of the decoded packet is valid (IPv4 only). */
export function ipv4ChecksumOk(p: DecodedPacket): boolean {
  const b = p.buf;
  let s = 0;
  for (let i = p.ipOffset; i + 1 < p.l4Offset; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s === 0xffff;
}

/**
 * The checksum keywords of a signature on one packet (src/signatures/keywords/csum.ts):
 * `ignore` is the capture's PKT_IGNORE_CHECKSUM (ChecksumPolicy.ignoresChecksums), under which
 * each keyword answers "valid". A TCP checksum that cannot be computed (cut by the snap length,
 * IPv6 extension headers) is neither valid nor invalid: the keyword does not match.
 */
export function csumHolds(specs: readonly CsumSpec[], p: DecodedPacket, ignore: boolean): boolean {
  for (const c of specs) {
    if (c.kind === 'ipv4') {
      if (p.ipVersion !== 4) return false;
      if (ignore) {
        if (!c.valid) return false;
        continue;
      }
      if (ipv4ChecksumOk(p) !== c.valid) return false;
      continue;
    }
    if (p.ipVersion !== (c.kind === 'tcpv4' ? 4 : 6)) return false;
    if (ignore) {
      if (!c.valid) return false;
      continue;
    }
    const ok = tcpChecksumOk(p);
    if (ok === undefined || ok !== c.valid) return false;
  }
  return true;
}
