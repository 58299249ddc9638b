/**
 * Builds Ethernet/IPv4/IPv6 TCP frames and classic pcap files in memory. Used by tests and the
 * benchmark to generate captures, and by the Injector to build RST frames. Pure: no I/O.
 */

export interface TcpFrameSpec {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  /** TCP flag bits (FIN=1 SYN=2 RST=4 PSH=8 ACK=16). */
  flags: number;
  window?: number;
  payload?: Uint8Array;
  ttl?: number;
  /** 802.1Q VLAN ids to insert (outermost first). */
  vlans?: number[];
  srcMac?: Uint8Array;
  dstMac?: Uint8Array;
  /** Extra TCP option bytes (padded to 4). */
  tcpOptions?: Uint8Array;
}

const DEFAULT_SRC_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 1);
const DEFAULT_DST_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 2);

export function parseIpv4(s: string): Uint8Array {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 address ${s}`);
  return Uint8Array.from(parts);
}

export function parseIpv6(s: string): Uint8Array {
  const out = new Uint8Array(16);
  const [head = '', tail] = s.split('::');
  const hp = head === '' ? [] : head.split(':');
  const tp = tail === undefined || tail === '' ? [] : tail.split(':');
  if (tail === undefined && hp.length !== 8) throw new Error(`bad IPv6 address ${s}`);
  hp.forEach((w, i) => {
    const v = parseInt(w, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 255;
  });
  tp.forEach((w, i) => {
    const v = parseInt(w, 16);
    const j = 8 - tp.length + i;
    out[2 * j] = v >> 8;
    out[2 * j + 1] = v & 255;
  });
  return out;
}

function sum16(b: Uint8Array, from: number, to: number, acc: number): number {
  let s = acc;
  let i = from;
  for (; i + 1 < to; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < to) s += b[i]! << 8;
  return s;
}
function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

/** One Ethernet frame carrying a TCP segment (checksums computed). */
export function tcpFrame(spec: TcpFrameSpec): Uint8Array {
  const v6 = spec.srcIp.includes(':');
  const src = v6 ? parseIpv6(spec.srcIp) : parseIpv4(spec.srcIp);
  const dst = v6 ? parseIpv6(spec.dstIp) : parseIpv4(spec.dstIp);
  const payload = spec.payload ?? new Uint8Array(0);
  const opts = spec.tcpOptions ?? new Uint8Array(0);
  const optLen = (opts.length + 3) & ~3;
  const tcpLen = 20 + optLen + payload.length;
  const ipLen = v6 ? 40 : 20;
  const vlans = spec.vlans ?? [];
  const l2 = 14 + 4 * vlans.length;
  const f = new Uint8Array(l2 + ipLen + tcpLen);
  f.set(spec.dstMac ?? DEFAULT_DST_MAC, 0);
  f.set(spec.srcMac ?? DEFAULT_SRC_MAC, 6);
  let o = 12;
  for (const id of vlans) {
    f[o] = 0x81;
    f[o + 1] = 0x00;
    f[o + 2] = (id >> 8) & 0x0f;
    f[o + 3] = id & 255;
    o += 4;
  }
  f[o] = v6 ? 0x86 : 0x08;
  f[o + 1] = v6 ? 0xdd : 0x00;
  const ip = l2;
  if (v6) {
    f[ip] = 0x60;
    f[ip + 4] = tcpLen >> 8;
    f[ip + 5] = tcpLen & 255;
    f[ip + 6] = 6;
    f[ip + 7] = spec.ttl ?? 64;
    f.set(src, ip + 8);
    f.set(dst, ip + 24);
  } else {
    const total = 20 + tcpLen;
    f[ip] = 0x45;
    f[ip + 2] = total >> 8;
    f[ip + 3] = total & 255;
    f[ip + 6] = 0x40; // DF
    f[ip + 8] = spec.ttl ?? 64;
    f[ip + 9] = 6;
    f.set(src, ip + 12);
    f.set(dst, ip + 16);
    const c = fold(sum16(f, ip, ip + 20, 0));
    f[ip + 10] = c >> 8;
    f[ip + 11] = c & 255;
  }
  const t = ip + ipLen;
  f[t] = spec.srcPort >> 8;
  f[t + 1] = spec.srcPort & 255;
  f[t + 2] = spec.dstPort >> 8;
  f[t + 3] = spec.dstPort & 255;
  const seq = spec.seq >>> 0;
  const ack = (spec.ack ?? 0) >>> 0;
  f[t + 4] = seq >>> 24;
  f[t + 5] = (seq >>> 16) & 255;
  f[t + 6] = (seq >>> 8) & 255;
  f[t + 7] = seq & 255;
  f[t + 8] = ack >>> 24;
  f[t + 9] = (ack >>> 16) & 255;
  f[t + 10] = (ack >>> 8) & 255;
  f[t + 11] = ack & 255;
  f[t + 12] = ((20 + optLen) / 4) << 4;
  f[t + 13] = spec.flags & 0xff;
  const win = spec.window ?? 65535;
  f[t + 14] = win >> 8;
  f[t + 15] = win & 255;
  f.set(opts, t + 20);
  f.set(payload, t + 20 + optLen);
  // Pseudo-header checksum.
  let s = 0;
  if (v6) {
    s = sum16(f, ip + 8, ip + 40, s);
    s += tcpLen >>> 16;
    s += tcpLen & 0xffff;
    s += 6;
  } else {
    s = sum16(f, ip + 12, ip + 20, s);
    s += 6 + tcpLen;
  }
  s = sum16(f, t, t + tcpLen, s);
  const c = fold(s);
  f[t + 16] = c >> 8;
  f[t + 17] = c & 255;
  return f;
}

export interface PcapRecord {
  /** Microseconds since the epoch. */
  tsUs: number;
  data: Uint8Array;
  /** Original length on the wire (default data.length). */
  origLen?: number;
}

/** Streams a classic (microsecond, little-endian) pcap file into chunks. */
export class PcapWriter {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  constructor(
    readonly linkType = 1,
    readonly snaplen = 65535,
  ) {
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(snaplen, 16);
    h.writeUInt32LE(linkType, 20);
    this.push(h);
  }

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  add(r: PcapRecord): void {
    const h = Buffer.alloc(16);
    const sec = Math.floor(r.tsUs / 1e6);
    h.writeUInt32LE(sec >>> 0, 0);
    h.writeUInt32LE(Math.round(r.tsUs - sec * 1e6) >>> 0, 4);
    const cap = Math.min(r.data.length, this.snaplen);
    h.writeUInt32LE(cap, 8);
    h.writeUInt32LE(r.origLen ?? r.data.length, 12);
    this.push(h);
    this.push(cap === r.data.length ? r.data : r.data.subarray(0, cap));
  }

  get byteLength(): number {
    return this.size;
  }

  /** Takes the bytes written so far (and forgets them). */
  drain(): Buffer {
    const b = Buffer.concat(this.chunks, this.size);
    this.chunks.length = 0;
    this.size = 0;
    return b;
  }
}

/** Whole pcap file from records. */
export function buildPcap(records: readonly PcapRecord[], linkType = 1): Buffer {
  const w = new PcapWriter(linkType);
  for (const r of records) w.add(r);
  return w.drain();
}
