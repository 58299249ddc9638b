/**
 * Crafted TCP client for end-to-end tests: opens a connection with raw frames (cap) and sends the
 * payload in small segments OUT OF ORDER, something a kernel socket never does. Run inside the
 * attacker namespace:  node --import tsx raw-tcp.ts '{"dst":"198.51.100.11","port":2375,"payload":"...","segment":3}'
 *
 * The attacker's kernel has no socket for this flow and would answer the SYN-ACK with an RST, so
 * the tool first adds a drop rule for outgoing RSTs to this port in a table of its own
 * (inet bulwark_e2e_raw, in the attacker's namespace only) and removes it at the end.
 * Prints { handshake, sent, acked } as JSON.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tcpFrame, parseIpv4 } from '../../../src/engine/pcap-writer.js';

interface CapLike {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  on(ev: 'packet', fn: (nbytes: number, trunc: boolean) => void): void;
  send(buf: Buffer, len?: number): void;
  close(): void;
  setMinBytes?(n: number): void;
}
const { Cap } = createRequire(import.meta.url)('cap') as { Cap: new () => CapLike };

const o = JSON.parse(process.argv[2] ?? '{}') as { dst: string; port: number; payload: string; segment?: number; iface?: string; seed?: number };
const iface = o.iface ?? 'eth0';
const sport = 40000 + Math.floor(Math.random() * 20000);
const srcIp = execFileSync('ip', ['-4', '-j', 'addr', 'show', 'dev', iface]).toString();
const src = (JSON.parse(srcIp) as { addr_info: { local: string }[] }[])[0]!.addr_info[0]!.local;
const srcMac = Buffer.from(readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim().replaceAll(':', ''), 'hex');
execFileSync('ping', ['-c1', '-W1', o.dst], { stdio: 'ignore' });
const neigh = JSON.parse(execFileSync('ip', ['-j', 'neigh', 'show', o.dst, 'dev', iface]).toString()) as { lladdr?: string }[];
const dstMac = Buffer.from((neigh[0]?.lladdr ?? 'ff:ff:ff:ff:ff:ff').replaceAll(':', ''), 'hex');
parseIpv4(o.dst);

execFileSync('nft', ['-f', '-'], {
  input: `table inet bulwark_e2e_raw {\n chain out { type filter hook output priority 0; tcp sport ${sport} tcp flags & rst == rst drop; }\n}\n`,
});

const cap = new Cap();
const buf = Buffer.alloc(65536);
cap.open(iface, `tcp and src host ${o.dst} and src port ${o.port} and dst port ${sport}`, 1 << 20, buf);
cap.setMinBytes?.(0);

const isn = Math.floor(Math.random() * 0xffffffff) >>> 0;
let serverSeq = -1;
let acked = isn + 1;
const payload = Buffer.from(o.payload, 'latin1');
const send = (flags: number, seq: number, ack: number, data?: Uint8Array): void => {
  const f = tcpFrame({ srcIp: src, dstIp: o.dst, srcPort: sport, dstPort: o.port, seq: seq >>> 0, ack: ack >>> 0, flags, window: 65535, srcMac, dstMac, ...(data ? { payload: data } : {}) });
  cap.send(Buffer.from(f), f.length);
};
cap.on('packet', (n) => {
  // Ethernet(14) + IPv4 header (IHL) + TCP.
  const ihl = (buf[14]! & 0x0f) * 4;
  const t = 14 + ihl;
  const flags = buf[t + 13]!;
  const seq = buf.readUInt32BE(t + 4);
  const ack = buf.readUInt32BE(t + 8);
  if (n > t && (flags & 0x12) === 0x12) serverSeq = seq;
  if ((flags & 0x10) !== 0 && ((ack - acked) | 0) > 0) acked = ack;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cleanup = (): void => {
  cap.close();
  try {
    execFileSync('nft', ['delete', 'table', 'inet', 'bulwark_e2e_raw']);
  } catch {
    /* already gone */
  }
};

try {
  send(0x02, isn, 0);
  for (let i = 0; i < 50 && serverSeq < 0; i++) await sleep(20);
  if (serverSeq < 0) {
    console.log(JSON.stringify({ handshake: false, sent: 0, acked: 0 }));
  } else {
    send(0x10, isn + 1, serverSeq + 1);
    const seg = o.segment ?? 3;
    const pieces: { off: number; data: Buffer }[] = [];
    for (let off = 0; off < payload.length; off += seg) pieces.push({ off, data: payload.subarray(off, off + seg) });
    // Deterministic shuffle (seeded), keeping the first piece last so nothing is in order.
    let s = o.seed ?? 7;
    for (let i = pieces.length - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      const j = s % (i + 1);
      [pieces[i], pieces[j]] = [pieces[j]!, pieces[i]!];
    }
    for (const p of pieces) {
      send(0x18, isn + 1 + p.off, serverSeq + 1, p.data);
      await sleep(2);
    }
    for (let i = 0; i < 50 && ((acked - (isn + 1 + payload.length)) | 0) < 0; i++) await sleep(20);
    console.log(JSON.stringify({ handshake: true, sent: pieces.length, acked: (acked - isn - 1) | 0 }));
    send(0x14, isn + 1 + payload.length, serverSeq + 1);
  }
} finally {
  cleanup();
}
