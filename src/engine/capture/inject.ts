/**
 * Raw frame injection with `cap` (pcap_sendpacket). Used only to send TCP RSTs where
 * SOCK_DESTROY is unavailable (isolation, severing connections). `cap` puts libpcap in
 * immediate mode (~2.5 µs per captured packet), so the injection handle captures nothing:
 * its filter matches no packet.
 */
import { createRequire } from 'node:module';
import { BulwarkError } from '../../errors.js';
import type { Logger } from '../../log/index.js';
import { tcpFrame } from '../pcap-writer.js';

const require = createRequire(import.meta.url);

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  send(buffer: Buffer, n?: number): void;
  close(): void;
}
interface CapModule {
  Cap: new () => CapHandle;
}

export interface RstSpec {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  /** Sequence number the receiver expects (its rcv_nxt), so the RST is accepted. */
  seq: number;
  /** Also set ACK with this acknowledgment number (RST|ACK). */
  ack?: number;
  /** Ethernet addresses (required on Ethernet devices; usually copied from a captured frame, swapped). */
  srcMac?: Uint8Array;
  dstMac?: Uint8Array;
}

export interface FrameInjector {
  sendRst(r: RstSpec): void;
  close(): void;
}

/** Builds the RST frame for a link type (1 = Ethernet, 101/12 = raw IP). Pure; exported for tests. */
export function rstFrame(r: RstSpec, linkType: number): Buffer {
  const flags = r.ack !== undefined ? 0x14 : 0x04;
  const f = tcpFrame({
    srcIp: r.srcIp,
    dstIp: r.dstIp,
    srcPort: r.srcPort,
    dstPort: r.dstPort,
    seq: r.seq,
    ...(r.ack !== undefined ? { ack: r.ack } : {}),
    flags,
    window: 0,
    ...(r.srcMac ? { srcMac: r.srcMac } : {}),
    ...(r.dstMac ? { dstMac: r.dstMac } : {}),
  });
  if (linkType === 1) return Buffer.from(f);
  if (linkType === 101 || linkType === 12) return Buffer.from(f.subarray(14));
  throw new BulwarkError('BULWARK_ERR_CAPTURE', `inject: cannot build frames for link type ${linkType}`);
}

const LINK: Record<string, number> = { ETHERNET: 1, RAW: 101, NULL: 0, LINUX_SLL: 113 };

export class Injector implements FrameInjector {
  private readonly cap: CapHandle;
  private readonly linkType: number;
  sent = 0;

  constructor(
    readonly iface: string,
    private readonly log: Logger,
  ) {
    try {
      const mod = require('cap') as CapModule;
      this.cap = new mod.Cap();
      // "less 1": no frame is that short, so nothing is ever captured on this handle.
      const lt = this.cap.open(iface, 'less 1', 64 * 1024, Buffer.alloc(2048));
      this.linkType = LINK[lt] ?? -1;
    } catch (e) {
      throw new BulwarkError('BULWARK_ERR_CAPTURE', `inject: cannot open ${iface}: ${e instanceof Error ? e.message : String(e)}`, { cause: e, details: { interface: iface } });
    }
    if (this.linkType !== 1 && this.linkType !== 101) {
      this.cap.close();
      throw new BulwarkError('BULWARK_ERR_CAPTURE', `inject: ${iface} has link type ${this.linkType}; only Ethernet and raw IP devices can inject`);
    }
  }

  sendRst(r: RstSpec): void {
    const f = rstFrame(r, this.linkType);
    try {
      this.cap.send(f, f.length);
      this.sent++;
    } catch (e) {
      this.log.warn({ err: e, interface: this.iface }, 'RST injection failed');
      throw new BulwarkError('BULWARK_ERR_CAPTURE', `inject: send on ${this.iface} failed`, { cause: e });
    }
  }

  close(): void {
    this.cap.close();
  }
}
