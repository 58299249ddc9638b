/**
 * Direction of captured frames (pure). Handshake evidence rests on it (docs/engine.md, "Handshake
 * evidence"): a SYN/ACK proves that this host answered only when its kernel really sent it.
 *
 * - Linux cooked captures (SLL, SLL2: the `any` device) carry the kernel's packet type.
 * - Ethernet: a frame whose source is the interface's MAC was sent by this host, a frame to the
 *   interface's MAC or to a group address (broadcast/multicast) was received by it, anything
 *   else belongs to another host (a veth or a hub delivers those too; the kernel drops them).
 *   Frames from beyond a router always carry the router's MAC, so no remote host can pass for
 *   this one. A host on the same link that forges our MAC as source could (it can also take
 *   over another host's address with ARP and complete real handshakes in its name, which no
 *   capture can tell apart); see docs/engine.md, "Handshake evidence", for why the kernel's own
 *   packet type is not used on Ethernet captures (libpcap re-runs the filter in userland).
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
