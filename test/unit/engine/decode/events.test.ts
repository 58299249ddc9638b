import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodedPacket, decodePacket, DROP, LINKTYPE } from '../../../../src/engine/decode/decode.js';
import { DECODE_EVENTS, decodeEventId } from '../../../../src/engine/decode/events.js';

/** Decodes a raw IP packet and returns [drop reason, the names of its decoder events]. */
function run(pkt: Uint8Array | number[], link: number = LINKTYPE.RAW, caplen?: number): [number, string[]] {
  const b = Uint8Array.from(pkt);
  const p = new DecodedPacket();
  const r = decodePacket(b, 0, caplen ?? b.length, link, p);
  const names: string[] = [];
  for (let i = 0; i < p.eventCount; i++) names.push(DECODE_EVENTS[p.events[i]!]!);
  return [r, names];
}

/** IPv6 (2001:db8::1 → 2001:db8::2), next header `nh`, then `payload` (the payload length field = its length unless given). */
function v6(nh: number, payload: number[], plen = payload.length): number[] {
  const h = new Array<number>(40).fill(0);
  h[0] = 0x60;
  h[4] = plen >> 8;
  h[5] = plen & 255;
  h[6] = nh;
  h[7] = 64;
  h[8] = 0x20;
  h[9] = 0x01;
  h[10] = 0x0d;
  h[11] = 0xb8;
  h[23] = 1;
  h[24] = 0x20;
  h[25] = 0x01;
  h[26] = 0x0d;
  h[27] = 0xb8;
  h[39] = 2;
  return [...h, ...payload];
}

/** IPv4 (198.51.100.1 → 203.0.113.1), protocol `proto`, then `payload`. */
function v4(proto: number, payload: number[], opts: { ihl?: number; totalLength?: number } = {}): number[] {
  const ihl = opts.ihl ?? 5;
  const h = new Array<number>(20).fill(0);
  const tl = opts.totalLength ?? 20 + payload.length;
  h[0] = 0x40 | ihl;
  h[2] = tl >> 8;
  h[3] = tl & 255;
  h[8] = 64;
  h[9] = proto;
  h.splice(12, 8, 198, 51, 100, 1, 203, 0, 113, 1);
  return [...h, ...payload];
}

/** A TCP header (ports 1234 → 80, ACK) with `options` (padded by the caller to a multiple of 4). */
function tcp(options: number[] = [], doff?: number): number[] {
  const h = new Array<number>(20).fill(0);
  h[0] = 0x04;
  h[1] = 0xd2;
  h[3] = 80;
  h[12] = (doff ?? 5 + options.length / 4) << 4;
  h[13] = 0x10;
  h[15] = 0xff;
  return [...h, ...options];
}

const UDP8 = [0, 53, 0, 53, 0, 8, 0, 0];
const TCP = 6;
const UDP = 17;
const NONE = 59;
const HOP = 0;
const DST = 60;
const RH = 43;
const FH = 44;
const AH = 51;

test('the decoder event table names only Suricata events, each once', () => {
  assert.equal(new Set(DECODE_EVENTS).size, DECODE_EVENTS.length);
  for (const n of DECODE_EVENTS) assert.match(n, /^[a-z0-9]+\.[a-z0-9_]+$/);
  assert.equal(decodeEventId('IPv6.Frag_Overlap'), decodeEventId('ipv6.frag_overlap'), 'names compare case-insensitively');
  assert.equal(decodeEventId('ipv6.no_such_event'), -1);
});

test('a clean IPv6/TCP packet and a clean IPv4/UDP packet raise nothing', () => {
  assert.deepEqual(run(v6(TCP, tcp([2, 4, 5, 0xb4, 1, 1, 4, 2]))), [DROP.NONE, []]);
  assert.deepEqual(run(v4(UDP, UDP8)), [DROP.NOT_TCP, []]);
});

test('IPv6 destination / hop-by-hop options: unknown option, padding only, zero-length PadN, bad option length', () => {
  // dstopts: unknown option 0x1e of 4 bytes
  assert.deepEqual(run(v6(DST, [TCP, 0, 0x1e, 4, 0, 0, 0, 0, ...tcp()])), [DROP.NONE, ['ipv6.dstopts_unknown_opt']]);
  // hop-by-hop: PadN of 4 only
  assert.deepEqual(run(v6(HOP, [TCP, 0, 1, 4, 0, 0, 0, 0, ...tcp()])), [DROP.NONE, ['ipv6.hopopts_only_padding']]);
  // dstopts: PadN of length 0, then Pad1 x4
  assert.deepEqual(run(v6(DST, [TCP, 0, 1, 0, 0, 0, 0, 0, ...tcp()]))[1], ['ipv6.zero_len_padn', 'ipv6.dstopts_only_padding']);
  // dstopts: an option whose length runs past the header
  assert.deepEqual(run(v6(DST, [TCP, 0, 0x1e, 9, 0, 0, 0, 0, ...tcp()]))[1], ['ipv6.exthdr_invalid_optlen']);
  // router alert shorter than its 2-byte value
  assert.deepEqual(run(v6(HOP, [TCP, 0, 5, 1, 0, 1, 0, 0, ...tcp()]))[1], ['ipv6.exthdr_invalid_optlen']);
});

test('IPv6 duplicated headers, routing type 0, AH reserved field', () => {
  const hop = (nh: number): number[] => [nh, 0, 1, 4, 0, 0, 0, 0];
  assert.deepEqual(run(v6(HOP, [...hop(HOP), ...hop(TCP), ...tcp()]))[1], ['ipv6.hopopts_only_padding', 'ipv6.exthdr_dupl_hh']);
  // three destination options headers: the third is a duplicate (two are allowed, around a routing header)
  const dst = (nh: number): number[] => [nh, 0, 1, 4, 0, 0, 0, 0];
  assert.deepEqual(run(v6(DST, [...dst(DST), ...dst(DST), ...dst(TCP), ...tcp()]))[1], ['ipv6.dstopts_only_padding', 'ipv6.dstopts_only_padding', 'ipv6.exthdr_dupl_dh']);
  const rh = (nh: number, type: number): number[] => [nh, 0, type, 0, 0, 0, 0, 0];
  assert.deepEqual(run(v6(RH, [...rh(RH, 0), ...rh(TCP, 2), ...tcp()])), [DROP.NONE, ['ipv6.rh_type_0', 'ipv6.exthdr_dupl_rh']]);
  const ah = (nh: number, reserved: number): number[] => [nh, 1, 0, reserved, 0, 0, 0, 1, 0, 0, 0, 1];
  assert.deepEqual(run(v6(AH, [...ah(AH, 1), ...ah(TCP, 0), ...tcp()])), [DROP.NONE, ['ipv6.exthdr_ah_res_not_null', 'ipv6.exthdr_dupl_ah']]);
});

test('IPv6 fragment headers: useless, duplicated, reserved field, invalid length; a fragment is held for defrag', () => {
  const fh = (nh: number, off: number, more: boolean, reserved = 0): number[] => [nh, reserved, (off | (more ? 1 : 0)) >> 8, (off | (more ? 1 : 0)) & 255, 0, 0, 0, 7];
  assert.deepEqual(run(v6(FH, [...fh(TCP, 0, false), ...tcp()])), [DROP.NONE, ['ipv6.exthdr_useless_fh']]);
  assert.deepEqual(run(v6(FH, [...fh(FH, 0, false), ...fh(TCP, 0, false), ...tcp()])), [DROP.NONE, ['ipv6.exthdr_useless_fh', 'ipv6.exthdr_dupl_fh']]);
  assert.deepEqual(run(v6(FH, [...fh(TCP, 0, false, 3), ...tcp()]))[1], ['ipv6.fh_non_zero_reserved_field', 'ipv6.exthdr_useless_fh']);
  // more fragments with 12 data bytes: not a multiple of 8
  assert.deepEqual(run(v6(FH, [...fh(UDP, 0, true), ...new Array<number>(12).fill(0)])), [DROP.IP_FRAGMENT, ['ipv6.frag_invalid_length']]);
  assert.deepEqual(run(v6(FH, [...fh(UDP, 0, true), ...new Array<number>(16).fill(0)])), [DROP.IP_FRAGMENT, []]);
  // the last fragment may be any length
  assert.deepEqual(run(v6(FH, [...fh(UDP, 16, false), ...new Array<number>(5).fill(0)])), [DROP.IP_FRAGMENT, []]);
});

test('IPv6: data after no-next-header, truncated extension header, ICMPv4 and unknown next headers, truncated packet', () => {
  assert.deepEqual(run(v6(NONE, [1, 2, 3])), [DROP.NOT_TCP, ['ipv6.data_after_none_header']]);
  assert.deepEqual(run(v6(NONE, [])), [DROP.NOT_TCP, []]);
  // hop-by-hop claiming 16 bytes in an 8-byte payload
  assert.deepEqual(run(v6(HOP, [TCP, 1, 1, 4, 0, 0, 0, 0])), [DROP.TRUNCATED_IP, ['ipv6.trunc_exthdr']]);
  assert.deepEqual(run(v6(HOP, [TCP])), [DROP.TRUNCATED_IP, ['ipv6.trunc_exthdr']]);
  assert.deepEqual(run(v6(1, [8, 0, 0, 0])), [DROP.NOT_TCP, ['ipv6.icmpv4']]);
  assert.deepEqual(run(v6(HOP, [1, 0, 1, 4, 0, 0, 0, 0, 8, 0]))[1], ['ipv6.hopopts_only_padding', 'ipv6.icmpv4']);
  assert.deepEqual(run(v6(200, [0, 0])), [DROP.NOT_TCP, ['ipv6.unknown_next_header']]);
  // the payload length says 40 more bytes than the capture holds (Suricata: trunc_pkt, nothing further)
  assert.deepEqual(run(v6(DST, [TCP, 0, 0x1e, 4, 0, 0, 0, 0, ...tcp()], 68))[1], ['ipv6.trunc_pkt']);
  assert.deepEqual(run(v6(TCP, []).slice(0, 30)), [DROP.TRUNCATED_IP, ['ipv6.pkt_too_small']]);
  assert.deepEqual(run([0x45, ...v6(TCP, tcp()).slice(1)], LINKTYPE.IPV6)[1], ['ipv6.wrong_ip_version']);
});

test('TCP options: invalid lengths and duplicates by Suricata rules; an empty SACK is valid', () => {
  // SACK with no blocks (length 2) is accepted (Suricata 7)
  assert.deepEqual(run(v4(TCP, tcp([5, 2, 1, 1]))), [DROP.NONE, []]);
  assert.deepEqual(run(v4(TCP, tcp([5, 3, 0, 1])))[1], ['tcp.opt_invalid_len']);
  assert.deepEqual(run(v4(TCP, tcp([2, 4, 5, 0xb4, 2, 4, 5, 0xb4])))[1], ['tcp.opt_duplicate']);
  assert.deepEqual(run(v4(TCP, tcp([3, 4, 7, 0])))[1], ['tcp.opt_invalid_len'], 'window scale is 3 bytes');
  assert.deepEqual(run(v4(TCP, tcp([8, 0, 0, 0])))[1], ['tcp.opt_invalid_len'], 'length 0 stops the walk');
  assert.deepEqual(run(v4(TCP, tcp([34, 2, 1, 1, 34, 2, 1, 1])))[1], ['tcp.opt_duplicate'], 'TFO cookie request twice');
  assert.deepEqual(run(v4(TCP, tcp([254, 4, 0xf9, 0x89, 34, 2, 1, 1])))[1], ['tcp.opt_duplicate'], 'experimental TFO then TFO');
  // data offset 4: Suricata's option length underflows
  assert.deepEqual(run(v4(TCP, tcp([], 4))), [DROP.BAD_TCP_HEADER, ['tcp.invalid_optlen']]);
  assert.deepEqual(run(v4(TCP, tcp().slice(0, 12))), [DROP.TRUNCATED_TCP, ['tcp.pkt_too_small']]);
  assert.deepEqual(run(v4(TCP, tcp([], 8))), [DROP.TRUNCATED_TCP, ['tcp.hlen_too_small']]);
});

test('UDP lengths (Suricata: header too small, packet too small, length field invalid)', () => {
  assert.deepEqual(run(v4(UDP, [0, 1, 0, 2, 0, 5, 0, 0, 0x42, 0x42])), [DROP.NOT_TCP, ['udp.len_invalid']]);
  assert.deepEqual(run(v4(UDP, [0, 1, 0, 2, 0, 40, 0, 0, 0x42, 0x42])), [DROP.NOT_TCP, ['udp.pkt_too_small']]);
  assert.deepEqual(run(v4(UDP, [0, 1, 0, 2])), [DROP.NOT_TCP, ['udp.hlen_too_small']]);
  // a shorter UDP length than the IP payload is allowed (padding)
  assert.deepEqual(run(v4(UDP, [...UDP8, 0, 0])), [DROP.NOT_TCP, []]);
  assert.deepEqual(run(v6(UDP, [0, 1, 0, 2, 0, 4, 0, 0])), [DROP.NOT_TCP, ['udp.len_invalid']]);
});

test('IPv4 header checks and link layer events', () => {
  assert.deepEqual(run(v4(TCP, tcp(), { ihl: 4 })), [DROP.BAD_IP_HEADER, ['ipv4.hlen_too_small']]);
  assert.deepEqual(run(v4(TCP, tcp(), { totalLength: 16 })), [DROP.BAD_IP_LENGTH, ['ipv4.iplen_smaller_than_hlen']]);
  assert.deepEqual(run(v4(TCP, tcp()).slice(0, 16)), [DROP.TRUNCATED_IP, ['ipv4.pkt_too_small']]);
  assert.deepEqual(run(v4(58, [128, 0, 0, 0])), [DROP.NOT_TCP, ['ipv4.icmpv6']]);
  assert.deepEqual(run(v4(TCP, tcp(), { totalLength: 80 }))[1], ['ipv4.trunc_pkt']);
  assert.deepEqual(run(v6(TCP, tcp()), LINKTYPE.IPV4)[1], ['ipv4.wrong_ip_version']);
  assert.deepEqual(run([0x75, 0, 0, 0]), [DROP.BAD_IP_VERSION, ['ipraw.invalid_ip_version']]);
  assert.deepEqual(run(new Array<number>(10).fill(0), LINKTYPE.ETHERNET), [DROP.TRUNCATED_LINK, ['ethernet.pkt_too_small']]);
  assert.deepEqual(run([0x81, 0, 0, 0], LINKTYPE.NULL)[1], ['ltnull.unsupported_type']);
});

test('a packet keeps at most 15 events (Suricata PACKET_ENGINE_EVENT_MAX)', () => {
  // 20 destination options headers with unknown options: 2 analysed + 18 duplicates, far more than 15 events
  const hdrs: number[] = [];
  for (let i = 0; i < 20; i++) hdrs.push(i === 19 ? TCP : DST, 0, 0x1e, 4, 0, 0, 0, 0);
  const [r, names] = run(v6(DST, [...hdrs, ...tcp()]));
  assert.equal(r, DROP.NONE);
  assert.equal(names.length, 15);
  assert.deepEqual(names.slice(0, 3), ['ipv6.dstopts_unknown_opt', 'ipv6.dstopts_unknown_opt', 'ipv6.exthdr_dupl_dh']);
});
