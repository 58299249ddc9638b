/**
 * Packet decoders: link layer (Ethernet, 802.1Q/QinQ, Linux SLL/SLL2, raw IP, BSD loopback) →
 * IPv4 (with options) / IPv6 (with extension headers) → TCP (with options).
 *
 * Decoding writes into one reused `DecodedPacket` and allocates nothing: the hot path reads
 * offsets into the caller's buffer. A packet that cannot be decoded returns a drop reason
 * (an index into DROP_REASONS) instead of throwing.
 */

/** libpcap link types we decode. */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  /** OpenBSD/Linux alias of raw IP in old captures. */
  RAW_ALT: 12,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** Why a packet was not inspected (label of bulwark_packets_dropped_total). Index 0 = decoded. */
export const DROP_REASONS = [
  'none',
  'truncated_link',
  'unsupported_link',
  'unsupported_ethertype',
  'truncated_ip',
  'bad_ip_version',
  'bad_ip_header',
  'bad_ip_length',
  'ip_fragment',
  'ipv6_ext_header',
  'not_tcp',
  'truncated_tcp',
  'bad_tcp_header',
  'internal_error',
  // Direction and address checks of live capture (docs/engine.md, "Handshake evidence"):
  /** A frame for another host's MAC (or PACKET_OTHERHOST); on links without MACs, for none of our addresses. */
  'not_for_host',
  /** Arrived inbound with one of this host's own addresses as source. */
  'spoofed_source',
  /** A SYN/ACK or handshake ACK in a direction this host's side of the handshake cannot have. */
  'wrong_direction',
  /** TCP checksum invalid while validation is on (docs/engine.md, "Checksums"; stream.checksum-validation + checksum-checks). */
  'bad_checksum',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export const DROP = {
  NONE: 0,
  TRUNCATED_LINK: 1,
  UNSUPPORTED_LINK: 2,
  UNSUPPORTED_ETHERTYPE: 3,
  TRUNCATED_IP: 4,
  BAD_IP_VERSION: 5,
  BAD_IP_HEADER: 6,
  BAD_IP_LENGTH: 7,
  IP_FRAGMENT: 8,
  IPV6_EXT_HEADER: 9,
  NOT_TCP: 10,
  TRUNCATED_TCP: 11,
  BAD_TCP_HEADER: 12,
  INTERNAL_ERROR: 13,
  NOT_FOR_HOST: 14,
  SPOOFED_SOURCE: 15,
  WRONG_DIRECTION: 16,
  BAD_CHECKSUM: 17,
} as const;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;
const MAX_VLAN_TAGS = 4;
const PROTO_TCP = 6;

/** Reused decode result. Fields are valid only until the next decode. */
export class DecodedPacket {
  buf: Uint8Array = new Uint8Array(0);
  /** Start of the IP header in buf. */
  ipOffset = 0;
  ipVersion = 0;
  /** IPv4 addresses as unsigned 32-bit numbers; 0 for IPv6. */
  src4 = 0;
  dst4 = 0;
  /** IPv6 address offsets into buf (16 bytes each); -1 for IPv4. */
  src6Offset = -1;
  dst6Offset = -1;
  ttl = 0;
  /** Fragment fields (IPv4 and IPv6 fragment header). */
  fragOffset = 0;
  moreFragments = false;
  fragId = 0;
  l4Proto = 0;
  l4Offset = 0;
  /** Bytes of L4 header + payload actually present (min of IP length and caplen). */
  l4Length = 0;
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  tcpHeaderLength = 0;
  payloadOffset = 0;
  payloadLength = 0;
  /** Payload bytes the IP header announces but the capture cut off (snaplen). */
  payloadTruncated = 0;
}

/**
 * The bytes of a header of a decoded TCP packet as Suricata's header sticky buffers give them:
 * `ipv4.hdr` the IPv4 header with options, `ipv6.hdr` the fixed 40-byte IPv6 header, `tcp.hdr`
 * the TCP header with options; null when the packet has no such header.
 */
export function packetHeader(p: DecodedPacket, buffer: string): Uint8Array | null {
  switch (buffer) {
    case 'ipv4.hdr':
      return p.ipVersion === 4 ? p.buf.subarray(p.ipOffset, p.l4Offset) : null;
    case 'ipv6.hdr':
      return p.ipVersion === 6 ? p.buf.subarray(p.ipOffset, p.ipOffset + 40) : null;
    case 'tcp.hdr':
      return p.tcpHeaderLength > 0 ? p.buf.subarray(p.payloadOffset - p.tcpHeaderLength, p.payloadOffset) : null;
    default:
      return null;
  }
}

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}
function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * Decodes one frame of `caplen` bytes starting at `start`. Returns DROP.NONE (0) when `out`
 * holds a TCP packet, else a DROP code. Never throws on malformed input.
 */
export function decodePacket(buf: Uint8Array, start: number, caplen: number, linkType: number, out: DecodedPacket): number {
  const end = start + caplen;
  if (caplen < 0 || end > buf.length) return DROP.TRUNCATED_LINK;
  out.buf = buf;
  let o = start;
  let ethertype: number;
  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      if (caplen < 14) return DROP.TRUNCATED_LINK;
      ethertype = u16(buf, o + 12);
      o += 14;
      break;
    }
    case LINKTYPE.LINUX_SLL: {
      if (caplen < 16) return DROP.TRUNCATED_LINK;
      ethertype = u16(buf, o + 14);
      o += 16;
      break;
    }
    case LINKTYPE.LINUX_SLL2: {
      if (caplen < 20) return DROP.TRUNCATED_LINK;
      ethertype = u16(buf, o);
      o += 20;
      break;
    }
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_ALT:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6: {
      if (caplen < 1) return DROP.TRUNCATED_LINK;
      const v = buf[o]! >> 4;
      ethertype = v === 4 ? ETH_IPV4 : v === 6 ? ETH_IPV6 : 0;
      if (ethertype === 0) return DROP.BAD_IP_VERSION;
      break;
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      // 4-byte address family in host (NULL) or network (LOOP) order: AF_INET = 2; AF_INET6 = 10, 24, 28 or 30.
      if (caplen < 4) return DROP.TRUNCATED_LINK;
      const le = buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24);
      const be = u32(buf, o);
      const af = le > 0 && le < 256 ? le : be;
      o += 4;
      if (af === 2) ethertype = ETH_IPV4;
      else if (af === 10 || af === 24 || af === 28 || af === 30) ethertype = ETH_IPV6;
      else return DROP.UNSUPPORTED_ETHERTYPE;
      break;
    }
    default:
      return DROP.UNSUPPORTED_LINK;
  }
  // 802.1Q / QinQ stacks (also seen after SLL when the kernel did not strip the tag).
  for (let tags = 0; ethertype === ETH_VLAN || ethertype === ETH_QINQ || ethertype === ETH_QINQ_OLD; tags++) {
    if (tags >= MAX_VLAN_TAGS) return DROP.UNSUPPORTED_ETHERTYPE;
    if (o + 4 > end) return DROP.TRUNCATED_LINK;
    ethertype = u16(buf, o + 2);
    o += 4;
  }
  if (ethertype === ETH_IPV4) return decodeIpv4(buf, o, end, out);
  if (ethertype === ETH_IPV6) return decodeIpv6(buf, o, end, out);
  return DROP.UNSUPPORTED_ETHERTYPE;
}

function decodeIpv4(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 20 > end) return DROP.TRUNCATED_IP;
  const vihl = buf[o]!;
  if (vihl >> 4 !== 4) return DROP.BAD_IP_VERSION;
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return DROP.BAD_IP_HEADER;
  if (o + ihl > end) return DROP.TRUNCATED_IP;
  const totalLength = u16(buf, o + 2);
  if (totalLength < ihl) return DROP.BAD_IP_LENGTH;
  out.ipOffset = o;
  out.ipVersion = 4;
  out.src4 = u32(buf, o + 12);
  out.dst4 = u32(buf, o + 16);
  out.src6Offset = -1;
  out.dst6Offset = -1;
  out.ttl = buf[o + 8]!;
  const frag = u16(buf, o + 6);
  out.fragId = u16(buf, o + 4);
  out.fragOffset = (frag & 0x1fff) * 8;
  out.moreFragments = (frag & 0x2000) !== 0;
  out.l4Proto = buf[o + 9]!;
  // Ethernet padding follows short packets: trust the IP length, bounded by what was captured.
  const ipEnd = o + totalLength;
  const avail = ipEnd < end ? ipEnd : end;
  out.l4Offset = o + ihl;
  out.l4Length = avail - out.l4Offset;
  if (out.fragOffset !== 0 || out.moreFragments) return DROP.IP_FRAGMENT;
  if (out.l4Proto !== PROTO_TCP) return DROP.NOT_TCP;
  return decodeTcp(buf, out.l4Offset, avail, ipEnd - avail, out);
}

function decodeIpv6(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 40 > end) return DROP.TRUNCATED_IP;
  if (buf[o]! >> 4 !== 6) return DROP.BAD_IP_VERSION;
  const payloadLength = u16(buf, o + 4);
  out.ipOffset = o;
  out.ipVersion = 6;
  out.src4 = 0;
  out.dst4 = 0;
  out.src6Offset = o + 8;
  out.dst6Offset = o + 24;
  out.ttl = buf[o + 7]!;
  out.fragOffset = 0;
  out.moreFragments = false;
  out.fragId = 0;
  // Jumbograms (payload length 0 + hop-by-hop jumbo option) are not supported: treat as bad length.
  const ipEnd = o + 40 + payloadLength;
  const avail = ipEnd < end ? ipEnd : end;
  let next = buf[o + 6]!;
  let p = o + 40;
  for (let n = 0; ; n++) {
    if (n > 8) return DROP.IPV6_EXT_HEADER;
    if (next === PROTO_TCP) break;
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
      if (p + 8 > avail) return DROP.TRUNCATED_IP;
      const len = (buf[p + 1]! + 1) * 8;
      next = buf[p]!;
      p += len;
      if (p > avail) return DROP.TRUNCATED_IP;
    } else if (next === 44) {
      if (p + 8 > avail) return DROP.TRUNCATED_IP;
      const fo = u16(buf, p + 2);
      out.fragOffset = fo & 0xfff8;
      out.moreFragments = (fo & 1) !== 0;
      out.fragId = u32(buf, p + 4);
      next = buf[p]!;
      p += 8;
      if (out.fragOffset !== 0 || out.moreFragments) {
        out.l4Proto = next;
        out.l4Offset = p;
        out.l4Length = avail - p;
        return DROP.IP_FRAGMENT;
      }
    } else if (next === 51) {
      // AH: length in 4-byte units minus 2.
      if (p + 8 > avail) return DROP.TRUNCATED_IP;
      const len = (buf[p + 1]! + 2) * 4;
      next = buf[p]!;
      p += len;
      if (p > avail) return DROP.TRUNCATED_IP;
    } else if (next === 59) {
      return DROP.NOT_TCP;
    } else if (next === 50) {
      return DROP.NOT_TCP; // ESP: encrypted, nothing to inspect
    } else {
      out.l4Proto = next;
      return DROP.NOT_TCP;
    }
  }
  out.l4Proto = PROTO_TCP;
  out.l4Offset = p;
  out.l4Length = avail - p;
  return decodeTcp(buf, p, avail, ipEnd - avail, out);
}

function decodeTcp(buf: Uint8Array, o: number, end: number, cutOff: number, out: DecodedPacket): number {
  if (o + 20 > end) return DROP.TRUNCATED_TCP;
  const hl = (buf[o + 12]! >> 4) * 4;
  if (hl < 20) return DROP.BAD_TCP_HEADER;
  if (o + hl > end) return DROP.TRUNCATED_TCP;
  out.srcPort = u16(buf, o);
  out.dstPort = u16(buf, o + 2);
  out.seq = u32(buf, o + 4);
  out.ack = u32(buf, o + 8);
  out.flags = buf[o + 13]!;
  out.window = u16(buf, o + 14);
  out.tcpHeaderLength = hl;
  out.payloadOffset = o + hl;
  out.payloadLength = end - (o + hl);
  out.payloadTruncated = cutOff > 0 ? cutOff : 0;
  return DROP.NONE;
}

/**
 * Parses TCP options of the decoded packet (only called for SYNs, off the hot path).
 * Returns the window scale shift or -1 when absent; malformed options stop the walk.
 */
export function tcpWindowScale(p: DecodedPacket): number {
  const b = p.buf;
  let o = p.payloadOffset - p.tcpHeaderLength + 20;
  const end = p.payloadOffset;
  while (o < end) {
    const kind = b[o]!;
    if (kind === 0) break;
    if (kind === 1) {
      o++;
      continue;
    }
    if (o + 1 >= end) break;
    const len = b[o + 1]!;
    if (len < 2 || o + len > end) break;
    if (kind === 3 && len === 3) return b[o + 2]!;
    o += len;
  }
  return -1;
}

export function ipv4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** RFC 5952 text form of a 16-byte IPv6 address. */
export function ipv6ToString(b: Uint8Array, o: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!);
  // IPv4-mapped
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) {
    return `::ffff:${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}
