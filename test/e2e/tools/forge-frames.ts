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
import { tcpFrame } from '../../../src/engine/pcap-writer.js';

interface CapLike {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  send(buf: Buffer, len?: number): void;
  close(): void;
}
const { Cap } = createRequire(import.meta.url)('cap') as { Cap: new () => CapLike };

interface Spec {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  flags: number;
  payload?: string;
  dstMac: string;
  badChecksum?: boolean;
}

const o = JSON.parse(process.argv[2] ?? '{}') as { frames: Spec[]; iface?: string; gapMs?: number };
const iface = o.iface ?? 'eth0';
const mac = (s: string): Uint8Array => Buffer.from(s.trim().replaceAll(':', ''), 'hex');
const srcMac = mac(readFileSync(`/sys/class/net/${iface}/address`, 'utf8'));

const cap = new Cap();
cap.open(iface, 'less 1', 1 << 16, Buffer.alloc(2048));
let sent = 0;
for (const f of o.frames) {
  const frame = Buffer.from(
    tcpFrame({
      srcIp: f.srcIp,
      dstIp: f.dstIp,
      srcPort: f.srcPort,
      dstPort: f.dstPort,
      seq: f.seq >>> 0,
      ack: (f.ack ?? 0) >>> 0,
      flags: f.flags,
      srcMac,
      dstMac: mac(f.dstMac),
      ...(f.payload !== undefined ? { payload: Buffer.from(f.payload, 'latin1') } : {}),
    }),
  );
  // Ethernet/IPv4 without options: the TCP checksum is at 14 + 20 + 16.
  if (f.badChecksum === true) frame[50] = frame[50]! ^ 0x5a;
  cap.send(frame, frame.length);
  sent++;
  if (o.gapMs !== undefined && o.gapMs > 0) await new Promise((r) => setTimeout(r, o.gapMs));
}
cap.close();
process.stdout.write(JSON.stringify({ sent }) + '\n');
