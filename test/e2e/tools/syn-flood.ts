/**
 * A spoofed SYN flood with `cap` (issue 14): SYNs in other addresses' names, sent to the test host
 * only. Run inside the attacker namespace:
 *   node --import tsx syn-flood.ts '{"dstMac":"aa:…","scans":[{"srcIp":…,"dstIp":…,"ports":25}],
 *     "flood":{"dstIp":"2001:db8:b1::e","sources":37000,"scanners":200,"ports":25,"dstPort":8080}}'
 * `scans` first (each source SYNs `ports` distinct ports from 1000 up), then the flood: `sources`
 * distinct IPv6 sources in 2001:db8:f::/48, each one SYN to dstPort, of which the first
 * `scanners` also SYN `ports` distinct ports (each a port scan in its own name).
 * The Ethernet source is this host's own MAC. Prints {"sent":N,"sources":M}.
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

interface Plan {
  dstMac: string;
  iface?: string;
  scans?: { srcIp: string; dstIp: string; ports: number }[];
  flood?: { dstIp: string; sources: number; scanners: number; ports: number; dstPort: number };
}
const o = JSON.parse(process.argv[2] ?? '{}') as Plan;
const iface = o.iface ?? 'eth0';
const mac = (s: string): Uint8Array => Buffer.from(s.trim().replaceAll(':', ''), 'hex');
const srcMac = mac(readFileSync(`/sys/class/net/${iface}/address`, 'utf8'));
const dstMac = mac(o.dstMac);

const cap = new Cap();
cap.open(iface, 'less 1', 1 << 16, Buffer.alloc(2048));
let sent = 0;
let sources = 0;
const syn = (srcIp: string, dstIp: string, srcPort: number, dstPort: number): void => {
  const f = Buffer.from(tcpFrame({ srcIp, dstIp, srcPort, dstPort, seq: (srcPort * 7919) >>> 0, flags: 0x02, srcMac, dstMac }));
  cap.send(f, f.length);
  sent++;
};
const pause = (): Promise<void> => new Promise((r) => setImmediate(r));
for (const s of o.scans ?? []) {
  sources++;
  for (let p = 0; p < s.ports; p++) syn(s.srcIp, s.dstIp, 42000 + p, 1000 + p);
}
const f = o.flood;
if (f) {
  for (let i = 0; i < f.sources; i++) {
    const src = `2001:db8:f:${(i >> 16).toString(16)}:${((i >> 8) & 0xff).toString(16)}:${(i & 0xff).toString(16)}:${(i * 40503 & 0xffff).toString(16)}:1`;
    sources++;
    syn(src, f.dstIp, 30000 + (i % 30000), f.dstPort);
    if (i < f.scanners) for (let p = 0; p < f.ports; p++) syn(src, f.dstIp, 20000 + p, 1000 + p);
    // Let the capture side breathe (a 2-core machine): the flood is about sources, not pps.
    if (i % 2000 === 1999) await pause();
  }
}
cap.close();
process.stdout.write(JSON.stringify({ sent, sources }) + '\n');
