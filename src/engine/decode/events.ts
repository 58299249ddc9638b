/**
 * Decoder events: anomalies the decoders and the defragmenter see in one packet, named as
 * Suricata names them (`decode-event:<name>`, rules/decoder-events.rules, decode-events.c), with
 * the conditions of Suricata's decoders (decode-ipv4.c, decode-ipv6.c, decode-tcp.c,
 * decode-udp.c, defrag.c). A packet carries at most MAX_PACKET_EVENTS of them (Suricata keeps 15):
 * further ones are dropped, as in Suricata.
 *
 * Only the names listed here are detected; a rule naming another decoder event is skipped
 * (src/signatures/keywords/events.ts), never loaded with a condition that cannot fire.
 */

export const DECODE_EVENTS = [
  // link layer
  'ethernet.pkt_too_small',
  'sll.pkt_too_small',
  'vlan.header_too_small',
  'ltnull.pkt_too_small',
  'ltnull.unsupported_type',
  'ppp.pkt_too_small',
  'chdlc.pkt_too_small',
  'ipraw.invalid_ip_version',
  // IPv4 (decode-ipv4.c)
  'ipv4.pkt_too_small',
  'ipv4.hlen_too_small',
  'ipv4.iplen_smaller_than_hlen',
  'ipv4.trunc_pkt',
  'ipv4.wrong_ip_version',
  'ipv4.icmpv6',
  // IPv4 defragmentation (defrag.c)
  'ipv4.frag_pkt_too_large',
  'ipv4.frag_overlap',
  'ipv4.frag_ignored',
  // IPv6 (decode-ipv6.c)
  'ipv6.pkt_too_small',
  'ipv6.trunc_pkt',
  'ipv6.trunc_exthdr',
  'ipv6.exthdr_dupl_fh',
  'ipv6.exthdr_useless_fh',
  'ipv6.exthdr_dupl_rh',
  'ipv6.exthdr_dupl_hh',
  'ipv6.exthdr_dupl_dh',
  'ipv6.exthdr_dupl_ah',
  'ipv6.exthdr_invalid_optlen',
  'ipv6.wrong_ip_version',
  'ipv6.exthdr_ah_res_not_null',
  'ipv6.hopopts_unknown_opt',
  'ipv6.hopopts_only_padding',
  'ipv6.dstopts_unknown_opt',
  'ipv6.dstopts_only_padding',
  'ipv6.rh_type_0',
  'ipv6.zero_len_padn',
  'ipv6.fh_non_zero_reserved_field',
  'ipv6.data_after_none_header',
  'ipv6.unknown_next_header',
  'ipv6.icmpv4',
  'ipv6.frag_invalid_length',
  // IPv6 defragmentation (defrag.c)
  'ipv6.frag_pkt_too_large',
  'ipv6.frag_overlap',
  'ipv6.frag_ignored',
  // TCP (decode-tcp.c)
  'tcp.pkt_too_small',
  'tcp.hlen_too_small',
  'tcp.invalid_optlen',
  'tcp.opt_invalid_len',
  'tcp.opt_duplicate',
  // UDP (decode-udp.c)
  'udp.pkt_too_small',
  'udp.hlen_too_small',
  'udp.len_invalid',
] as const;

export type DecodeEventName = (typeof DECODE_EVENTS)[number];

const IDS: ReadonlyMap<string, number> = new Map(DECODE_EVENTS.map((n, i) => [n, i]));

/** The event id of a decoder event name (Suricata's name, case-insensitive), or -1 when it is not detected. */
export function decodeEventId(name: string): number {
  return IDS.get(name.toLowerCase()) ?? -1;
}

/** Event ids by name, for the decoders (a typo is a compile error). */
export const EV = Object.fromEntries(DECODE_EVENTS.map((n, i) => [n, i])) as { readonly [K in DecodeEventName]: number };

/** Suricata's PACKET_ENGINE_EVENT_MAX. */
export const MAX_PACKET_EVENTS = 15;
