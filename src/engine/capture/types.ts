/** Capture side of the engine: anything that yields link-layer frames. Fakes live in tests. */

/**
 * One captured frame: `caplen` bytes of `buf` starting at `offset`; valid only during the call
 * (the buffer is reused). `tsUs` is the capture time in microseconds since the epoch.
 */
export type PacketHandler = (buf: Uint8Array, caplen: number, linkType: number, tsUs: number, offset: number) => void;

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
  start(onPacket: PacketHandler): void;
  stop(): void;
  stats(): CaptureStats;
}
