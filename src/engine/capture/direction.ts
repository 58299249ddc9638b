/**
 * Direction of captured frames (pure). Handshake evidence rests on it (docs/engine.md, "Handshake
 * evidence"): a SYN/ACK proves that this host answered only when its kernel really sent it.
 *
 * - Linux cooked captures (SLL, SLL2: the `any` device) carry the kernel's packet type.
 * - Ethernet: a frame whose source is the interface's MAC was sent by this host, a frame to the
 *   interface's MAC or to a group address (broadcast/multicast) was received by it, anything
 *   else belongs to another host (a veth or a hub delivers those too; the kernel drops them).
 *   An Ethernet source address can be forged, so the capture filter also drops, in the kernel,
 *   every *incoming* frame that claims the interface's MAC as source (`inboundOwnMacGuard`):
 *   what the engine sees with our MAC as source is what our kernel sent.
 * - Raw IP links (tun, WireGuard) carry no direction: UNKNOWN, which never proves a handshake live.
 */
import { DIR, type PacketDirection } from './types.js';

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;

// Linux sll_pkttype values (linux/if_packet.h).
const PACKET_HOST = 0;
const PACKET_BROADCAST = 1;
const PACKET_MULTICAST = 2;
const PACKET_OTHERHOST = 3;
const PACKET_OUTGOING = 4;

function packetType(t: number): PacketDirection {
  switch (t) {
    case PACKET_HOST:
    case PACKET_BROADCAST:
    case PACKET_MULTICAST:
      return DIR.INBOUND;
    case PACKET_OTHERHOST:
      return DIR.OTHER_HOST;
    case PACKET_OUTGOING:
      return DIR.OUTBOUND;
    default:
      return DIR.UNKNOWN;
  }
}

function sameMac(buf: Uint8Array, o: number, mac: Uint8Array): boolean {
  return buf[o] === mac[0] && buf[o + 1] === mac[1] && buf[o + 2] === mac[2] && buf[o + 3] === mac[3] && buf[o + 4] === mac[4] && buf[o + 5] === mac[5];
}

/**
 * Direction of one frame. `mac` is the capturing interface's 6-byte address (null when the link
 * has none or it is unknown: Ethernet frames are then UNKNOWN).
 */
export function frameDirection(buf: Uint8Array, offset: number, caplen: number, linkType: number, mac: Uint8Array | null): PacketDirection {
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      if (mac === null || caplen < 14) return DIR.UNKNOWN;
      if (sameMac(buf, offset + 6, mac)) return DIR.OUTBOUND;
      // I/G bit: broadcast and multicast destinations are for every host on the link.
      if ((buf[offset]! & 1) !== 0 || sameMac(buf, offset, mac)) return DIR.INBOUND;
      return DIR.OTHER_HOST;
    case LINKTYPE_LINUX_SLL:
      return caplen < 16 ? DIR.UNKNOWN : packetType((buf[offset]! << 8) | buf[offset + 1]!);
    case LINKTYPE_LINUX_SLL2:
      return caplen < 20 ? DIR.UNKNOWN : packetType(buf[offset + 10]!);
    default:
      return DIR.UNKNOWN;
  }
}

/** "aa:bb:cc:dd:ee:ff" → 6 bytes; null for anything else or the all-zero address. */
export function parseMac(text: string): Uint8Array | null {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(text.trim());
  if (!m) return null;
  const b = Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16)));
  return b.every((x) => x === 0) ? null : b;
}

/**
 * Wraps a BPF filter for a live Ethernet capture so the kernel drops incoming frames that carry
 * the interface's own MAC as source (`inbound` is libpcap's packet-type test, evaluated by the
 * kernel on Linux live captures): a forged source MAC then cannot pass for an outgoing frame.
 */
export function inboundOwnMacGuard(filter: string, mac: Uint8Array): string {
  const text = [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
  return `(${filter}) and not (inbound and ether src ${text})`;
}
