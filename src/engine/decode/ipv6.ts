/**
 * IPv6 and its extension headers, with the checks and decoder events of Suricata's
 * decode-ipv6.c (DecodeIPV6Packet, DecodeIPV6ExtHdrs): hop-by-hop / destination options (their
 * option walk: padding, unknown options, bad lengths), routing (type 0), fragment (duplicate,
 * useless, reserved field, invalid length), AH, ESP, no-next-header, and the rest skipped by
 * their length. The walk is bounded by the payload length (every header is at least 8 bytes).
 */
import { DecodedPacket, DROP, decodeL4, PROTO_TCP, PROTO_UDP, u16, u32 } from './decode.js';
import { EV } from './events.js';

const NH_HOPOPTS = 0;
const NH_ICMP = 1;
const NH_IPIP = 4;
const NH_SCTP = 132;
const NH_IPV6 = 41;
const NH_ROUTING = 43;
const NH_FRAGMENT = 44;
const NH_GRE = 47;
const NH_ESP = 50;
const NH_AH = 51;
const NH_ICMPV6 = 58;
const NH_NONE = 59;
const NH_DSTOPTS = 60;
const NH_MH = 135;
const NH_HIP = 139;
const NH_SHIM6 = 140;

const OPT_PAD1 = 0;
const OPT_PADN = 1;
const OPT_RA = 5;
const OPT_JUMBO = 0xc2;
const OPT_HAO = 0xc9;

/**
 * Decodes an IPv6 packet at `o` (frame ends at `end`). Returns DROP.NONE for TCP, IP_FRAGMENT
 * for a fragment (fragment fields and `l4Offset`/`l4Length` = the fragment's data), else a drop
 * reason; decoder events are raised on `out` along the way.
 */
export function decodeIpv6(buf: Uint8Array, o: number, end: number, out: DecodedPacket): number {
  if (o + 40 > end) {
    out.event(EV['ipv6.pkt_too_small']);
    return DROP.TRUNCATED_IP;
  }
  if (buf[o]! >> 4 !== 6) {
    out.event(EV['ipv6.wrong_ip_version']);
    return DROP.BAD_IP_VERSION;
  }
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
  // Jumbograms (payload length 0 + hop-by-hop jumbo option) are not supported: the payload is empty.
  const ipEnd = o + 40 + payloadLength;
  const cut = ipEnd > end;
  // Suricata stops at a packet shorter than its payload length (ipv6.trunc_pkt); bulwark decodes
  // what the capture holds (snap length) but raises no further events for it.
  if (cut) out.event(EV['ipv6.trunc_pkt']);
  const ev = !cut;
  const avail = cut ? end : ipEnd;
  const nh = buf[o + 6]!;
  out.l4Proto = nh;
  switch (nh) {
    case PROTO_TCP:
    case PROTO_UDP:
      return decodeL4(buf, nh, o + 40, ipEnd, avail, ev, out);
    case NH_ICMPV6:
    case NH_SCTP:
    case NH_IPIP:
    case NH_IPV6:
    case NH_GRE:
      out.l4Offset = o + 40;
      out.l4Length = avail - out.l4Offset;
      return DROP.NOT_TCP;
    case NH_FRAGMENT:
    case NH_HOPOPTS:
    case NH_ROUTING:
    case NH_NONE:
    case NH_DSTOPTS:
    case NH_AH:
    case NH_ESP:
    case NH_MH:
    case NH_HIP:
    case NH_SHIM6:
      return extHeaders(buf, o, o + 40, ipEnd, avail, ev, out);
    case NH_ICMP:
      if (ev) out.event(EV['ipv6.icmpv4']);
      return DROP.NOT_TCP;
    default:
      if (ev) out.event(EV['ipv6.unknown_next_header']);
      return DROP.NOT_TCP;
  }
}

/** DecodeIPV6ExtHdrs: `p` is the first extension header, `plen` the payload bytes left (by the IP length). */
function extHeaders(buf: Uint8Array, ip: number, p: number, ipEnd: number, avail: number, ev: boolean, out: DecodedPacket): number {
  let nh = buf[ip + 6]!;
  let plen = ipEnd - p;
  let hdrextlen = 0;
  let prevStart = -1;
  let dstopts = 0;
  let hh = false;
  let rh = false;
  let ah = false;
  let fh = false;
  const event = (id: number): void => {
    if (ev) out.event(id);
  };
  // Every header read must be inside what was captured; beyond it the packet is truncated.
  const captured = (n: number): boolean => p + n <= avail;
  for (;;) {
    if (nh === NH_NONE) {
      if (plen > 0) event(EV['ipv6.data_after_none_header']);
      out.l4Proto = nh;
      return DROP.NOT_TCP;
    }
    if (plen < 2) {
      event(EV['ipv6.trunc_exthdr']);
      return DROP.TRUNCATED_IP;
    }
    if (!captured(2)) return DROP.TRUNCATED_IP;
    const start = p;
    switch (nh) {
      case PROTO_TCP:
      case PROTO_UDP:
        return decodeL4(buf, nh, p, ipEnd, avail, ev, out);
      case NH_ICMPV6:
      case NH_SCTP:
      case NH_ESP:
      case NH_IPIP:
        out.l4Proto = nh;
        out.l4Offset = p;
        out.l4Length = avail - p;
        return DROP.NOT_TCP;
      case NH_ROUTING: {
        hdrextlen = 8 + buf[p + 1]! * 8;
        if (hdrextlen > plen) {
          event(EV['ipv6.trunc_exthdr']);
          return DROP.TRUNCATED_IP;
        }
        if (!captured(Math.min(hdrextlen, 3))) return DROP.TRUNCATED_IP;
        if (rh) event(EV['ipv6.exthdr_dupl_rh']);
        else {
          rh = true;
          if (buf[p + 2] === 0) event(EV['ipv6.rh_type_0']);
        }
        break;
      }
      case NH_HOPOPTS:
      case NH_DSTOPTS: {
        hdrextlen = (buf[p + 1]! + 1) * 8;
        if (hdrextlen > plen) {
          event(EV['ipv6.trunc_exthdr']);
          return DROP.TRUNCATED_IP;
        }
        if (!captured(hdrextlen)) return DROP.TRUNCATED_IP;
        let dup = false;
        if (nh === NH_HOPOPTS) {
          if (hh) {
            event(EV['ipv6.exthdr_dupl_hh']);
            dup = true;
          }
          hh = true;
        } else if (dstopts < 2) dstopts++;
        else {
          event(EV['ipv6.exthdr_dupl_dh']);
          dup = true;
        }
        if (!dup) optionEvents(buf, p + 2, hdrextlen - 2, nh === NH_HOPOPTS, event);
        break;
      }
      case NH_FRAGMENT: {
        hdrextlen = 8;
        if (hdrextlen > plen) {
          event(EV['ipv6.trunc_exthdr']);
          return DROP.TRUNCATED_IP;
        }
        if (!captured(8)) return DROP.TRUNCATED_IP;
        // The fragment header's length byte is reserved.
        if (buf[p + 1] !== 0) event(EV['ipv6.fh_non_zero_reserved_field']);
        if (fh) {
          event(EV['ipv6.exthdr_dupl_fh']);
          break;
        }
        fh = true;
        const offlg = u16(buf, p + 2);
        const offset = offlg & 0xfff8;
        const more = (offlg & 1) !== 0;
        if (!more && offset === 0) {
          // An atomic fragment: decoded on the spot, no reassembly needed.
          event(EV['ipv6.exthdr_useless_fh']);
          break;
        }
        // RFC 8200 4.5: every fragment but the last is a multiple of 8 bytes long.
        if (more && plen % 8 !== 0) event(EV['ipv6.frag_invalid_length']);
        out.fragOffset = offset;
        out.moreFragments = more;
        out.fragId = u32(buf, p + 4);
        out.fragHeaderOffset = p;
        out.fragPrevNextOffset = prevStart >= 0 ? prevStart : ip + 6;
        out.l4Proto = buf[p]!;
        out.l4Offset = p + 8;
        out.l4Length = Math.min(ipEnd, avail) - (p + 8);
        return DROP.IP_FRAGMENT;
      }
      case NH_AH: {
        hdrextlen = 12;
        const n = buf[p + 1]!;
        if (n > 0) hdrextlen += (n - 1) * 4;
        if (hdrextlen > plen) {
          event(EV['ipv6.trunc_exthdr']);
          return DROP.TRUNCATED_IP;
        }
        if (!captured(4)) return DROP.TRUNCATED_IP;
        if (u16(buf, p + 2) !== 0) event(EV['ipv6.exthdr_ah_res_not_null']);
        if (ah) event(EV['ipv6.exthdr_dupl_ah']);
        ah = true;
        break;
      }
      case NH_ICMP:
        event(EV['ipv6.icmpv4']);
        out.l4Proto = nh;
        return DROP.NOT_TCP;
      case NH_MH:
      case NH_HIP:
      case NH_SHIM6:
        hdrextlen = 8 + buf[p + 1]! * 8;
        if (hdrextlen > plen) {
          event(EV['ipv6.trunc_exthdr']);
          return DROP.TRUNCATED_IP;
        }
        break;
      default:
        event(EV['ipv6.unknown_next_header']);
        out.l4Proto = nh;
        return DROP.NOT_TCP;
    }
    nh = buf[start]!;
    prevStart = start;
    p = start + hdrextlen;
    plen -= hdrextlen;
  }
}

/**
 * The options of a hop-by-hop or destination options header (`len` bytes from `o`), Suricata's
 * walk: Pad1/PadN count as padding (PadN of length 0 is an event), RA, Jumbo and HAO must have
 * their minimum size, any other option is unknown; a header holding padding only is flagged.
 */
function optionEvents(b: Uint8Array, o: number, len: number, hop: boolean, event: (id: number) => void): void {
  let padding = 0;
  let other = 0;
  let off = 0;
  while (off < len) {
    const type = b[o + off]!;
    if (type === OPT_PAD1) {
      padding++;
      off++;
      continue;
    }
    if (off + 1 >= len) {
      event(EV['ipv6.exthdr_invalid_optlen']);
      break;
    }
    const olen = b[o + off + 1]!;
    if (off + 1 + olen > len) {
      event(EV['ipv6.exthdr_invalid_optlen']);
      break;
    }
    if (type === OPT_PADN) {
      padding++;
      if (olen === 0) event(EV['ipv6.zero_len_padn']);
    } else if (type === OPT_RA) {
      if (olen < 2) {
        event(EV['ipv6.exthdr_invalid_optlen']);
        break;
      }
      other++;
    } else if (type === OPT_JUMBO) {
      if (olen < 4) {
        event(EV['ipv6.exthdr_invalid_optlen']);
        break;
      }
    } else if (type === OPT_HAO) {
      if (olen < 16) {
        event(EV['ipv6.exthdr_invalid_optlen']);
        break;
      }
      other++;
    } else {
      event(hop ? EV['ipv6.hopopts_unknown_opt'] : EV['ipv6.dstopts_unknown_opt']);
      other++;
    }
    off += olen + 2;
  }
  if (padding > 0 && other === 0) event(hop ? EV['ipv6.hopopts_only_padding'] : EV['ipv6.dstopts_only_padding']);
}
