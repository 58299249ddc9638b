/**
 * Decode-event signatures (`decode-event:`), evaluated on every decoded packet — fragments, the
 * datagrams rebuilt from them, and packets bulwark does not inspect further (UDP, ICMP, malformed
 * ones) — as Suricata evaluates them per packet: a signature alerts once per packet whose events
 * include all of its decode events and whose layers match its rule protocol.
 */
import type { Ruleset, Signature } from '../../signatures/types.js';
import { decodeEventId } from '../decode/events.js';
import type { DecodedPacket } from '../decode/decode.js';

/** Does packet `p` belong to the rule protocol (pkthdr: any packet; ip: IPv4 or IPv6; tcp/udp: that transport)? */
export function packetProtocolHolds(proto: string | undefined, p: DecodedPacket): boolean {
  switch (proto) {
    case 'pkthdr':
      return true;
    case 'ip':
      return p.ipVersion !== 0;
    case 'ipv4':
    case 'ip4':
      return p.ipVersion === 4;
    case 'ipv6':
    case 'ip6':
      return p.ipVersion === 6;
    case 'udp':
      return p.ipVersion !== 0 && p.l4Proto === 17;
    case undefined:
    case 'tcp':
      return p.ipVersion !== 0 && p.l4Proto === 6;
    default:
      return false;
  }
}

export class PacketEventRules {
  /** Decoder event id → signatures whose first decode event it is. */
  private byEvent: (readonly number[] | undefined)[] = [];
  private sigs: readonly Signature[] = [];
  /** Signatures already alerted for the current packet (a signature whose events repeat alerts once). */
  private readonly fired = new Set<number>();

  setRuleset(r: Ruleset): void {
    this.sigs = r.signatures;
    const by: (readonly number[] | undefined)[] = [];
    for (const [name, list] of r.events?.decode ?? []) {
      const id = decodeEventId(name);
      if (id >= 0) by[id] = list;
    }
    this.byEvent = by;
  }

  get active(): boolean {
    return this.byEvent.length > 0;
  }

  /** Calls `fire` with the index of every decode-event signature that matches packet `p`. */
  match(p: DecodedPacket, fire: (sigIndex: number) => void): void {
    if (p.eventCount === 0) return;
    this.fired.clear();
    for (let i = 0; i < p.eventCount; i++) {
      const list = this.byEvent[p.events[i]!];
      if (list === undefined) continue;
      for (const si of list) {
        if (this.fired.has(si)) continue;
        const sig = this.sigs[si]!;
        if (!packetProtocolHolds(sig.protocol, p) || !allEventsHold(sig, p)) continue;
        this.fired.add(si);
        fire(si);
      }
    }
  }
}

function allEventsHold(sig: Signature, p: DecodedPacket): boolean {
  for (const e of sig.events ?? []) {
    if (e.kind !== 'decode') return false;
    if (!p.hasEvent(decodeEventId(e.name))) return false;
  }
  return true;
}
