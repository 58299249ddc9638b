/**
 * Packet decoders: link layer (Ethernet, 802.1Q/QinQ, Linux SLL/SLL2, raw IP, BSD loopback) →
 * IPv4 (with options) / IPv6 (with extension headers) → TCP (with options).
 *
 * Decoding writes into one reused `DecodedPacket` and allocates nothing: the hot path reads
 * offsets into the caller's buffer. A packet that cannot be decoded returns a drop reason
 * (an index into DROP_REASONS) instead of throwing.
 */

import { EV, MAX_PACKET_EVENTS } from './events.js';
import { decodeIpv6 } from './ipv6.js';

/** libpcap link types we decode. */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  /** PPP (RFC 1661; with or without the RFC 1662 HDLC address/control bytes). */
  PPP: 9,
  RAW: 101,
  /** Cisco HDLC (address, control, then an Ethernet type; Suricata's decode-chdlc.c). */
  C_HDLC: 104,
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
/** PPP protocol numbers of IPv4 and IPv6 (RFC 1332, RFC 5072). */
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;
const MAX_VLAN_TAGS = 4;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
const PROTO_ICMPV6 = 58;

/** Reused decode result. Fields are valid only until the next decode. */
export class DecodedPacket {
  buf: Uint8Array = new Uint8Array(0);
  /** Start of the frame (its link-layer header) in buf. */
  frameStart = 0;
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
  /** IPv6 fragment header: its offset in buf, and the offset of the next-header byte that points at it. */
  fragHeaderOffset = -1;
  fragPrevNextOffset = -1;
  /**
   * Decoder events of this packet (ids into DECODE_EVENTS, decode/events.ts), in the order they
   * were raised; the defragmenter adds its own to the fragment that raised them.
   */
  readonly events = new Uint8Array(MAX_PACKET_EVENTS);
  eventCount = 0;

  /** Raises a decoder event on this packet (beyond MAX_PACKET_EVENTS further ones are dropped, as in Suricata). */
  event(id: number): void {
    if (this.eventCount < MAX_PACKET_EVENTS) this.events[this.eventCount++] = id;
  }

  hasEvent(id: number): boolean {
    for (let i = 0; i < this.eventCount; i++) if (this.events[i] === id) return true;
    return false;
  }
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

export function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}
export function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * Decodes one frame of `caplen` bytes starting at `start`. Returns DROP.NONE (0) when `out`
 * holds a TCP packet, else a DROP code. Never throws on malformed input.
 */
export function decodePacket(buf: Uint8Array, start: number, caplen: number, linkType: number, out: DecodedPacket): number {
  const end = start + caplen;
  out.eventCount = 0;
  out.ipVersion = 0;
  out.l4Proto = 0;
  out.srcPort = 0;
  out.dstPort = 0;
  out.fragHeaderOffset = -1;
  out.fragPrevNextOffset = -1;
  if (caplen < 0 || end > buf.length) return DROP.TRUNCATED_LINK;
  out.buf = buf;
  out.frameStart = start;
  let o = start;
  let ethertype: number;
  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      if (caplen < 14) {
        out.event(EV['ethernet.pkt_too_small']);
        return DROP.TRUNCATED_LINK;
      }
      ethertype = u16(buf, o + 12);
      o += 14;
      break;
    }
    case LINKTYPE.LINUX_SLL: {
      if (caplen < 16) {
        out.event(EV['sll.pkt_too_small']);
        return DROP.TRUNCATED_LINK;
      }
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
    case LINKTYPE.C_HDLC: {
      // Address (0x0f unicast, 0x8f broadcast) and control bytes, then the protocol as an Ethernet
      // type; Suricata decodes the network layer whatever the address says.
      if (caplen < 4) {
        out.event(EV['chdlc.pkt_too_small']);
        return DROP.TRUNCATED_LINK;
      }
      ethertype = u16(buf, o + 2);
      o += 4;
      break;
    }
    case LINKTYPE.PPP: {
      // LINKTYPE_PPP frames may start with the HDLC address and control bytes (ff 03); the
      // protocol field is one byte when compressed (odd first byte, RFC 1661 §6.5), else two.
      if (caplen >= 2 && buf[o] === 0xff && buf[o + 1] === 0x03) o += 2;
      if (o >= end) {
        out.event(EV['ppp.pkt_too_small']);
        return DROP.TRUNCATED_LINK;
      }
      let proto: number;
      if ((buf[o]! & 1) === 1) {
        proto = buf[o]!;
        o += 1;
      } else {
        if (o + 2 > end) {
          out.event(EV['ppp.pkt_too_small']);
          return DROP.TRUNCATED_LINK;
        }
        proto = u16(buf, o);
        o += 2;
      }
      ethertype = proto === PPP_IPV4 ? ETH_IPV4 : proto === PPP_IPV6 ? ETH_IPV6 : 0;
      if (ethertype === 0) return DROP.UNSUPPORTED_ETHERTYPE;
      break;
    }
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_ALT: {
      if (caplen < 1) return DROP.TRUNCATED_LINK;
      const v = buf[o]! >> 4;
      ethertype = v === 4 ? ETH_IPV4 : v === 6 ? ETH_IPV6 : 0;
      if (ethertype === 0) {
        out.event(EV['ipraw.invalid_ip_version']);
        return DROP.BAD_IP_VERSION;
      }
      break;
    }
    // Suricata hands these link types straight to its IPv4 / IPv6 decoder.
    case LINKTYPE.IPV4:
      ethertype = ETH_IPV4;
      break;
    case LINKTYPE.IPV6:
      ethertype = ETH_IPV6;
      break;
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      // 4-byte address family in host (NULL) or network (LOOP) order: AF_INET = 2; AF_INET6 = 10, 24, 28 or 30.
      if (caplen < 4) {
        out.event(EV['ltnull.pkt_too_small']);
        return DROP.TRUNCATED_LINK;
      }
      const le = buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24);
      const be = u32(buf, o);
      const af = le > 0 && le < 256 ? le : be;
      o += 4;
      if (af === 2) ethertype = ETH_IPV4;
      else if (af === 10 || af === 24 || af === 28 || af === 30) ethertype = ETH_IPV6;
      else {
        out.event(EV['ltnull.unsupported_type']);
        return DROP.UNSUPPORTED_ETHERTYPE;
      }
      break;
    }
    default:
      return DROP.UNSUPPORTED_LINK;
  }
  // 802.1Q / QinQ stacks (also seen after SLL when the kernel did not strip the tag).
  for (let tags = 0; ethertype === ETH_VLAN || ethertype === ETH_QINQ || ethertype === ETH_QINQ_OLD; tags++) {
    if (tags >= MAX_VLAN_TAGS) return DROP.UNSUPPORTED_ETHERTYPE;
    if (o + 4 > end) {
      out.event(EV['vlan.header_too_small']);
      return DROP.TRUNCATED_LINK;
    }
    ethertype = u16(buf, o + 2);
    o += 4;
  }
  if (ethertype === ETH_IPV4) return decodeIpv4(buf, o, end, out);
  if (ethertype === ETH_IPV6) return decodeIpv6(buf, o, end, out);
  return DROP.UNSUPPORTED_ETHERTYPE;
}

/**
 * IPv4 (Suricata's DecodeIPV4Packet checks and events, in its order). A packet the capture cut
 * short (snap length) still raises ipv4.trunc_pkt but is decoded as far as it goes (bulwark
 * inspects what it has: `payloadTruncated`); its later layers raise no events (Suricata stops there).
 */
function decodeIpv4(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 20 > end) {
    out.event(EV['ipv4.pkt_too_small']);
    return DROP.TRUNCATED_IP;
  }
  const vihl = buf[o]!;
  if (vihl >> 4 !== 4) {
    out.event(EV['ipv4.wrong_ip_version']);
    return DROP.BAD_IP_VERSION;
  }
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) {
    out.event(EV['ipv4.hlen_too_small']);
    return DROP.BAD_IP_HEADER;
  }
  const totalLength = u16(buf, o + 2);
  if (totalLength < ihl) {
    out.event(EV['ipv4.iplen_smaller_than_hlen']);
    return DROP.BAD_IP_LENGTH;
  }
  const cut = end - o < totalLength;
  if (cut) out.event(EV['ipv4.trunc_pkt']);
  if (o + ihl > end) return DROP.TRUNCATED_IP;
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
  return decodeL4(buf, out.l4Proto, out.l4Offset, ipEnd, avail, !cut, out);
}

/**
 * The transport layer after IPv4 or IPv6: `ipEnd` is where the IP header says the packet ends,
 * `avail` where the capture does (≤ ipEnd); `events` false once the packet was found cut short.
 */
export function decodeL4(buf: Uint8Array, proto: number, o: number, ipEnd: number, avail: number, events: boolean, out: DecodedPacket): number {
  out.l4Proto = proto;
  out.l4Offset = o;
  out.l4Length = avail - o;
  if (proto === PROTO_TCP) return decodeTcp(buf, o, ipEnd, avail, events, out);
  if (proto === PROTO_UDP) {
    if (events) decodeUdp(buf, o, ipEnd, avail, out);
    return DROP.NOT_TCP;
  }
  if (proto === PROTO_ICMPV6 && out.ipVersion === 4 && events) out.event(EV['ipv4.icmpv6']);
  return DROP.NOT_TCP;
}

/** UDP (Suricata's DecodeUDPPacket): events and ports only, bulwark does not inspect UDP. */
function decodeUdp(buf: Uint8Array, o: number, ipEnd: number, avail: number, out: DecodedPacket): void {
  const len = ipEnd - o;
  if (len < 8) {
    out.event(EV['udp.hlen_too_small']);
    return;
  }
  if (o + 8 > avail) return;
  const udpLen = u16(buf, o + 4);
  if (len < udpLen) {
    out.event(EV['udp.pkt_too_small']);
    return;
  }
  if (udpLen < 8) {
    out.event(EV['udp.len_invalid']);
    return;
  }
  out.srcPort = u16(buf, o);
  out.dstPort = u16(buf, o + 2);
}

/**
 * TCP (Suricata's DecodeTCPPacket): the lengths the IP header announces are checked (events),
 * the capture's length bounds what is read.
 */
function decodeTcp(buf: Uint8Array, o: number, ipEnd: number, end: number, events: boolean, out: DecodedPacket): number {
  const len = ipEnd - o;
  if (len < 20) {
    if (events) out.event(EV['tcp.pkt_too_small']);
    return o + 20 > end ? DROP.TRUNCATED_TCP : DROP.BAD_TCP_HEADER;
  }
  if (o + 20 > end) return DROP.TRUNCATED_TCP;
  const hl = (buf[o + 12]! >> 4) * 4;
  if (len < hl) {
    if (events) out.event(EV['tcp.hlen_too_small']);
    return o + hl > end ? DROP.TRUNCATED_TCP : DROP.BAD_TCP_HEADER;
  }
  if (hl < 20) {
    // Suricata: the option length (hlen - 20) underflows its uint8 and exceeds 40.
    if (events) out.event(EV['tcp.invalid_optlen']);
    return DROP.BAD_TCP_HEADER;
  }
  if (o + hl > end) return DROP.TRUNCATED_TCP;
  if (hl > 20 && events) tcpOptionEvents(buf, o + 20, o + hl, out);
  out.srcPort = u16(buf, o);
  out.dstPort = u16(buf, o + 2);
  out.seq = u32(buf, o + 4);
  out.ack = u32(buf, o + 8);
  out.flags = buf[o + 13]!;
  out.window = u16(buf, o + 14);
  out.tcpHeaderLength = hl;
  out.payloadOffset = o + hl;
  out.payloadLength = end - (o + hl);
  const cutOff = ipEnd - end;
  out.payloadTruncated = cutOff > 0 ? cutOff : 0;
  return DROP.NONE;
}

// TCP option kinds and the lengths Suricata's DecodeTCPOptions checks (decode-tcp.h).
const OPT_MSS = 2;
const OPT_WS = 3;
const OPT_SACKOK = 4;
const OPT_SACK = 5;
const OPT_TS = 8;
const OPT_MD5 = 19;
const OPT_AO = 29;
const OPT_TFO = 34;
const OPT_EXP1 = 253;
const OPT_EXP2 = 254;
const EV_OPT_INVALID_LEN = EV['tcp.opt_invalid_len'];
const EV_OPT_DUPLICATE = EV['tcp.opt_duplicate'];

/**
 * tcp.opt_invalid_len / tcp.opt_duplicate with Suricata's rules: a length beyond the options or
 * below 2 stops the walk; fixed-size options (MSS 4, WS 3, SACK-permitted 2, timestamps 10) must
 * have their size; SACK 2 or 10..34 in steps of 8; TFO 2 or 6..18 even; the experimental kinds
 * 253/254 4 or 12 (TFO when they carry magic 0xF989); MD5 18; AO at least 4. A second MSS, WS,
 * SACK-permitted, timestamps, SACK or TFO option is a duplicate.
 */
function tcpOptionEvents(b: Uint8Array, o: number, end: number, out: DecodedPacket): void {
  // Bits of the options seen once (a second one is a duplicate): WS 1, MSS 2, SACK-permitted 4, TS 8, SACK 16, TFO 32.
  let seen = 0;
  while (o < end) {
    const kind = b[o]!;
    if (kind === 0) break;
    if (kind === 1) {
      o++;
      continue;
    }
    if (end - o < 2) break;
    const len = b[o + 1]!;
    if (len > end - o || len < 2) {
      out.event(EV_OPT_INVALID_LEN);
      return;
    }
    let bit = 0;
    let bad = false;
    switch (kind) {
      case OPT_WS:
        bad = len !== 3;
        bit = 1;
        break;
      case OPT_MSS:
        bad = len !== 4;
        bit = 2;
        break;
      case OPT_SACKOK:
        bad = len !== 2;
        bit = 4;
        break;
      case OPT_TS:
        bad = len !== 10;
        bit = 8;
        break;
      case OPT_SACK:
        bad = len !== 2 && (len < 10 || len > 34 || (len - 2) % 8 !== 0);
        bit = 16;
        break;
      case OPT_TFO:
        bad = len !== 2 && (len < 6 || len > 18 || ((len - 2) & 1) !== 0);
        bit = 32;
        break;
      case OPT_EXP1:
      case OPT_EXP2:
        if (len === 4 || len === 12) bit = u16(b, o + 2) === 0xf989 ? 32 : 0;
        else bad = true;
        break;
      case OPT_MD5:
        bad = len !== 18;
        break;
      case OPT_AO:
        bad = len < 4;
        break;
    }
    if (bad) out.event(EV_OPT_INVALID_LEN);
    else if (bit !== 0) {
      if ((seen & bit) !== 0) out.event(EV_OPT_DUPLICATE);
      else seen |= bit;
    }
    o += len;
  }
}

/**
 * Walks the TCP options of the decoded packet: calls `visit(kind, offset, length)` for each
 * option with a length byte until it returns true (then returns that offset), or -1 at the end.
 * NOP is skipped; EOL and malformed options stop the walk.
 */
function findTcpOption(p: DecodedPacket, visit: (kind: number, o: number, len: number) => boolean): number {
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
    if (visit(kind, o, len)) return o;
    o += len;
  }
  return -1;
}

/**
 * Parses TCP options of the decoded packet (only called for SYNs, off the hot path).
 * Returns the window scale shift or -1 when absent; malformed options stop the walk.
 */
export function tcpWindowScale(p: DecodedPacket): number {
  const o = findTcpOption(p, (kind, _o, len) => kind === 3 && len === 3);
  return o < 0 ? -1 : p.buf[o + 2]!;
}

/**
 * The segment carries a TCP MD5 signature (RFC 2385, kind 19) or TCP-AO (RFC 5925, kind 29)
 * option: what Suricata's StreamTcpValidateRst checks on a RST (TCP_HAS_MD5 / TCP_HAS_AO).
 * Malformed options stop the walk.
 */
export function tcpHasSignatureOption(p: DecodedPacket): boolean {
  return findTcpOption(p, (kind) => kind === 19 || kind === 29) >= 0;
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
