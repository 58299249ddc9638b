/**
 * Injects crafted TCP frames with `cap`, in other hosts' names: the hostile tester's forgeries
 * (issue 14). Run inside the attacker namespace:
 *   node --import tsx forge-frames.ts '{"frames":[{"srcIp":…,"dstIp":…,"srcPort":…,"dstPort":…,
 *     "seq":…,"ack":…,"flags":…,"payload":"…","dstMac":"aa:bb:…","badChecksum":true}], "gapMs": 5}'
 * The Ethernet source is this host's own MAC (a switch keeps delivering the forged host's traffic
 * to it), the destination the given MAC. badChecksum breaks the TCP checksum, so the receiving
 * kernel drops the segment and never answers (the IP header checksum stays valid: a bridge with
 * br_netfilter would drop the frame before it reaches the host). Prints {"sent":N}.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tcpFrame, type TcpFrameSpec } from '../../../src/engine/pcap-writer.js';

interface CapLike {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  send(buf: Buffer, len?: number): void;
  close(): void;
}
const { Cap } = createRequire(import.meta.url)('cap') as { Cap: new () => CapLike };

/** A TCP frame in JSON: addresses as text, the payload as a latin1 string, the destination MAC. */
type Spec = Omit<TcpFrameSpec, 'payload' | 'srcMac' | 'dstMac'> & { payload?: string; dstMac: string; badChecksum?: boolean };

const o = JSON.parse(process.argv[2] ?? '{}') as { frames: Spec[]; iface?: string; gapMs?: number };
const iface = o.iface ?? 'eth0';
const mac = (s: string): Uint8Array => Buffer.from(s.trim().replaceAll(':', ''), 'hex');
const srcMac = mac(readFileSync(`/sys/class/net/${iface}/address`, 'utf8'));

const cap = new Cap();
cap.open(iface, 'less 1', 1 << 16, Buffer.alloc(2048));
let sent = 0;
for (const f of o.frames) {
  const { payload, dstMac, badChecksum, ...tcp } = f;
  const frame = Buffer.from(tcpFrame({ ...tcp, srcMac, dstMac: mac(dstMac), ...(payload !== undefined ? { payload: Buffer.from(payload, 'latin1') } : {}) }));
  // Ethernet/IPv4 without options: the TCP checksum is at 14 + 20 + 16.
  if (badChecksum === true) frame[50] = frame[50]! ^ 0x5a;
  cap.send(frame, frame.length);
  sent++;
  if (o.gapMs !== undefined && o.gapMs > 0) await new Promise((r) => setTimeout(r, o.gapMs));
}
cap.close();
process.stdout.write(JSON.stringify({ sent }) + '\n');
