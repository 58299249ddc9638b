/**
 * Suricata's per-packet engine-event keywords: `decode-event:<layer>.<event>` (decoder and defrag
 * anomalies of one packet, src/engine/decode/events.ts) and `stream-event:<event>` (TCP stream
 * engine). Names are Suricata's (rules/decoder-events.rules, stream-events.rules), compared
 * case-insensitively as Suricata does (SCMapEnumNameToValue). `app-layer-event` (per
 * transaction) is parsed in rules.ts with the app-layer keywords.
 *
 * A name bulwark does not raise skips the rule with `unsupported event <name>` (stream events
 * with their `stream.` prefix), the reason app-layer events use: a rule that can never fire is
 * not loaded as if it could.
 */
import { decodeEventId } from '../../engine/decode/events.js';
import { OptionError, Unsupported } from '../options.js';

export type EventKind = 'decode' | 'stream';

/** One engine-event condition of a rule: the event must have been raised on the packet. */
export interface EventMatch {
  kind: EventKind;
  /** Canonical (lowercase) name: `ipv6.frag_overlap`; stream events without their `stream.` prefix. */
  name: string;
}

/** Stream events the engine raises (src/engine/flow/tcp.ts). */
export const DETECTED_STREAM_EVENTS: ReadonlySet<string> = new Set<string>(['suspected_rst_inject']);

const NAME = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/** Parses the value of `decode-event` or `stream-event`. */
export function parseEventKeyword(keyword: 'decode-event' | 'stream-event', value: string | undefined): EventMatch {
  let v = (value ?? '').trim();
  if (!NAME.test(v)) throw new OptionError(`${keyword}: bad event name "${v.slice(0, 60)}"`);
  v = v.toLowerCase();
  if (keyword === 'decode-event') {
    if (v.startsWith('decoder.')) v = v.slice('decoder.'.length);
    if (decodeEventId(v) < 0) throw new Unsupported(`unsupported event ${v}`);
    return { kind: 'decode', name: v };
  }
  if (v.startsWith('stream.')) v = v.slice('stream.'.length);
  if (!DETECTED_STREAM_EVENTS.has(v)) throw new Unsupported(`unsupported event stream.${v}`);
  return { kind: 'stream', name: v };
}

/**
 * Rule protocols of packet-level rules (`alert pkthdr …` matches any packet, `ip` any IP packet,
 * `ipv4`/`ip4`, `ipv6`/`ip6`, `udp` by layer): bulwark loads them for decode-event rules only.
 */
const PACKET_PROTOCOLS: ReadonlySet<string> = new Set(['pkthdr', 'ip', 'ipv4', 'ip4', 'ipv6', 'ip6', 'udp']);

export function isPacketProtocol(proto: string): boolean {
  return PACKET_PROTOCOLS.has(proto);
}

/**
 * Checks a rule with decode or stream events, or with a packet-level protocol: it must consist of
 * its events alone (plus metadata and thresholds) on `any any -> any any`, decode events in a
 * packet or `tcp` rule, stream events in a `tcp` rule. Anything else is skipped with a reason.
 */
export function checkEventRule(r: { protocol: string; events: readonly EventMatch[]; header: readonly string[]; others: boolean }): void {
  const decode = r.events.some((e) => e.kind === 'decode');
  const stream = r.events.some((e) => e.kind === 'stream');
  if (!decode && !stream) throw new Unsupported(`protocol ${r.protocol}`);
  if (decode && stream) throw new Unsupported('engine events of different kinds in one rule');
  const tcp = r.protocol === 'tcp' || r.protocol === 'tcp-pkt' || r.protocol === 'tcp-stream';
  if (stream && !tcp) throw new Unsupported(`stream-event in a ${r.protocol} rule`);
  if (decode && !tcp && !isPacketProtocol(r.protocol)) throw new Unsupported(`decode-event in a ${r.protocol} rule`);
  if (r.others) throw new Unsupported(`${decode ? 'decode' : 'stream'}-event with other conditions`);
  if (r.header.some((h) => h !== 'any')) throw new Unsupported(`${decode ? 'decode' : 'stream'}-event rule with addresses or ports`);
}
