/**
 * Suricata's engine-event keywords: `decode-event:<layer>.<event>` (decoder and defrag
 * anomalies of one packet), `stream-event:<event>` (TCP stream engine) and
 * `app-layer-event:<proto>.<event>` (app-layer parsers, per transaction). Names are Suricata's
 * (rules/decoder-events.rules, stream-events.rules, <proto>-events.rules), compared
 * case-insensitively as Suricata does (SCMapEnumNameToValue).
 *
 * A name bulwark does not detect skips the rule with the reason `<keyword> <name> not detected`:
 * a rule that can never fire is not loaded as if it could.
 */
import { decodeEventId } from '../../engine/decode/events.js';
import { APP_PROTOCOLS } from '../../engine/app-layer/registry.js';
import { OptionError, Unsupported } from '../options.js';

export type EventKind = 'decode' | 'stream' | 'app-layer';

/** One engine-event condition of a rule: the event must have been raised. */
export interface EventMatch {
  kind: EventKind;
  /** Canonical (lowercase) name: `ipv6.frag_overlap`, `reassembly_depth_reached`, `http.request_chunk_extension`. */
  name: string;
}

/** Stream events the engine raises (src/engine/stream). */
export const DETECTED_STREAM_EVENTS: ReadonlySet<string> = new Set<string>([]);

/** The app-layer keyword each protocol matches events with (src/engine/app-layer/<proto>/…). */
export const APP_LAYER_EVENT_KEYWORD = 'app-layer-event';

const NAME = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/** Parses the value of `decode-event`, `stream-event` or `app-layer-event`. */
export function parseEventKeyword(keyword: 'decode-event' | 'stream-event' | 'app-layer-event', value: string | undefined): EventMatch {
  let v = (value ?? '').trim();
  if (v === '') throw new OptionError(`${keyword} needs an event name`);
  if (!NAME.test(v)) throw new OptionError(`${keyword}: invalid event name "${v}"`);
  v = v.toLowerCase();
  switch (keyword) {
    case 'decode-event': {
      if (v.startsWith('decoder.')) v = v.slice('decoder.'.length);
      if (decodeEventId(v) < 0) throw new Unsupported(`decode-event ${v} not detected`);
      return { kind: 'decode', name: v };
    }
    case 'stream-event': {
      if (v.startsWith('stream.')) v = v.slice('stream.'.length);
      if (!DETECTED_STREAM_EVENTS.has(v)) throw new Unsupported(`stream-event ${v} not detected`);
      return { kind: 'stream', name: v };
    }
    case 'app-layer-event': {
      const dot = v.indexOf('.');
      if (dot < 0) throw new OptionError(`app-layer-event: expected <protocol>.<event>, got "${v}"`);
      const proto = v.slice(0, dot);
      const p = APP_PROTOCOLS.find((x) => x.name === proto);
      if (p === undefined || !(p.events ?? []).includes(v)) throw new Unsupported(`app-layer-event ${v} not detected`);
      return { kind: 'app-layer', name: v };
    }
  }
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
  if (r.events.some((e) => e.kind === 'app-layer') || (decode && stream)) throw new Unsupported('engine events of different kinds in one rule');
  const tcp = r.protocol === 'tcp' || r.protocol === 'tcp-pkt' || r.protocol === 'tcp-stream';
  if (stream && !tcp) throw new Unsupported(`stream-event in a ${r.protocol} rule`);
  if (decode && !tcp && !isPacketProtocol(r.protocol)) throw new Unsupported(`decode-event in a ${r.protocol} rule`);
  if (r.others) throw new Unsupported(`${decode ? 'decode' : 'stream'}-event with other conditions`);
  if (r.header.some((h) => h !== 'any')) throw new Unsupported(`${decode ? 'decode' : 'stream'}-event rule with addresses or ports`);
}
