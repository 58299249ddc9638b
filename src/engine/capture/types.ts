/** Capture side of the engine: anything that yields link-layer frames. Fakes live in tests. */

/**
 * Direction of a captured frame relative to this host, as the capture adapter knows it:
 * libpcap's packet type on Linux cooked captures (SLL/SLL2), or the Ethernet addresses compared
 * with the capturing interface's MAC (src/engine/capture/direction.ts). Offline captures have none.
 */
export const DIR = {
  /** No direction information (pcap files, raw IP links). */
  UNKNOWN: 0,
  /** Received by this host (unicast to its MAC, broadcast or multicast). */
  INBOUND: 1,
  /** Sent by this host's kernel. */
  OUTBOUND: 2,
  /** Seen on the link but addressed to another host's MAC (PACKET_OTHERHOST): the kernel drops it. */
  OTHER_HOST: 3,
} as const;
export type PacketDirection = (typeof DIR)[keyof typeof DIR];

/**
 * One captured frame: `caplen` bytes of `buf` starting at `offset`; valid only during the call
 * (the buffer is reused). `tsUs` is the capture time in microseconds since the epoch; `dir` the
 * frame's direction when the source knows it.
 */
export type PacketHandler = (buf: Uint8Array, caplen: number, linkType: number, tsUs: number, offset: number, dir?: PacketDirection) => void;

export interface CaptureStats {
  /** Packets the source delivered (or libpcap's ps_recv). */
  received: number;
  /** Packets lost by the kernel/libpcap buffer (ps_drop). */
  dropped: number;
  /** Packets dropped by the interface/driver (ps_ifdrop). */
  ifDropped: number;
}

export interface PacketSource {
  /** Interface name or file path, for logs and metric labels. */
  readonly name: string;
  /** Live Ethernet sources: the MAC the frames' direction is judged by (capture restarts when it changes). */
  readonly linkAddress?: string | undefined;
  start(onPacket: PacketHandler): void;
  stop(): void;
  stats(): CaptureStats;
}
