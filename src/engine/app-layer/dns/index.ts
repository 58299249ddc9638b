/**
 * DNS over TCP (`alert dns` rules): contract ./types.ts, parser ./parser.ts, rules and sources
 * ./README.md. Buffers: `dns.query` (multi, alias `dns_query`). Keywords: `dns.opcode` (uint8,
 * header opcode of the message), `dns.rrtype` (uint16: a question type in to_server, an answer
 * type in to_client, as Suricata 8.0).
 */
import type { AppBufferSpec, AppDirection, AppKeywordSpec, AppProtocol, AppTx } from '../types.js';
import { latin1 } from '../text/lines.js';
import { matchUint, parseUint, type UintMatch } from '../text/values.js';
import { DnsParser, DnsTx, probeDnsTcp } from './parser.js';

export * from './types.js';
export { DnsParser, DnsTx, probeDnsTcp } from './parser.js';
export { parseMessage, parseHeader, headerPlausible, type DnsMessage, type DnsQuestion, type DnsHeader } from './message.js';

const BOTH: readonly AppDirection[] = ['to_server', 'to_client'];
const asDns = (tx: AppTx): DnsTx | null => (tx instanceof DnsTx ? tx : null);

export const DNS_BUFFERS: readonly AppBufferSpec[] = [
  // Suricata 7/8: dns.query inspects the request's queries only (responses: dns.queries.rrname, not offered).
  { name: 'dns.query', aliases: ['dns_query'], directions: ['to_server'], multi: true, lowercaseOnly: false, pcreFlag: null },
];

const opcode: AppKeywordSpec<UintMatch> = {
  name: 'dns.opcode',
  aliases: [],
  directions: BOTH,
  parse: (v) => parseUint(v, 255, 'dns.opcode'),
  match: (tx, dir, m) => {
    const t = asDns(tx);
    return t !== null && t.dir === dir && t.msg !== null && matchUint(m, (t.msg.header.flags >> 11) & 0xf);
  },
};

const rrtype: AppKeywordSpec<UintMatch> = {
  name: 'dns.rrtype',
  aliases: [],
  directions: BOTH,
  parse: (v) => parseUint(v, 65535, 'dns.rrtype'),
  match: (tx, dir, m) => {
    const t = asDns(tx);
    if (t === null || t.dir !== dir || t.msg === null) return false;
    if (dir === 'to_server') return t.msg.queries.some((q) => matchUint(m, q.rrtype));
    return t.msg.answerTypes.some((x) => matchUint(m, x));
  },
};

export const DNS_KEYWORDS: readonly AppKeywordSpec[] = [opcode, rrtype] as readonly AppKeywordSpec[];

/** Mnemonics of common record types, as Suricata's EVE writes them (else the number). */
const RRTYPES: Readonly<Record<number, string>> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 13: 'HINFO', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 35: 'NAPTR',
  41: 'OPT', 43: 'DS', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 52: 'TLSA', 64: 'SVCB', 65: 'HTTPS', 99: 'SPF', 250: 'TSIG',
  251: 'IXFR', 252: 'AXFR', 255: 'ANY', 257: 'CAA',
};
const rrtypeName = (t: number): string => RRTYPES[t] ?? String(t);

/** EVE `dns` object of an alert (Suricata 8 version 3 layout): type, id, opcode, queries. */
export function dnsEve(tx: AppTx): Record<string, unknown> {
  const t = asDns(tx);
  if (t === null || t.msg === null) return {};
  const h = t.msg.header;
  return {
    version: 3,
    type: t.dir === 'to_server' ? 'request' : 'response',
    tx_id: t.id,
    id: h.id,
    opcode: (h.flags >> 11) & 0xf,
    queries: t.msg.queries.map((q) => ({ rrname: latin1(q.name), rrtype: rrtypeName(q.rrtype) })),
  };
}

export const DNS_PROTOCOL: AppProtocol = {
  name: 'dns',
  ruleProtocols: ['dns'],
  hintPorts: [53],
  // Suricata's DNS TCP probing parser runs on the detection port (53) only: a length prefix and
  // a plausible header are too weak a signature to claim flows on other ports.
  probePortsOnly: true,
  probeDirections: BOTH,
  probe: (dir, data, len) => probeDnsTcp(dir, data, len),
  create: () => new DnsParser(),
  buffers: DNS_BUFFERS,
  keywords: DNS_KEYWORDS,
  eve: dnsEve,
};
