/**
 * Connection reset without SOCK_DESTROY: where `ss -K` cannot destroy sockets (kernels built
 * without CONFIG_INET_DIAG_DESTROY), bulwark resets the peer with an injected TCP RST (`cap`).
 *
 * An RST is only accepted when its sequence number is exactly the peer's rcv_nxt (RFC 5961), so
 * it is learned from capture, the way tcpkill does: a bare ACK with an out-of-window sequence
 * number is injected towards the peer, the peer answers with a (challenge) ACK whose ack field is
 * that rcv_nxt, and the RST goes out with it. The local socket then dies on its next send, which
 * the peer (now without a socket) answers with an RST.
 *
 * Which method is used: `BULWARK_RESET_METHOD=ss|inject` forces one; otherwise a start-up probe
 * destroys a loopback connection with `ss -K` and falls back to injection if it survives.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { tcpFrame } from '../engine/pcap-writer.js';
import { errorMessage } from '../errors.js';
import { SsSocketKiller, localPortFilter, parseSsTuples, ssAddress, type SocketKiller, type SsTuple } from './sockets.js';

const require = createRequire(import.meta.url);

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  on(ev: 'packet', fn: (nbytes: number, trunc: boolean) => void): void;
  removeAllListeners(): void;
  send(buffer: Buffer, n?: number): void;
  close(): void;
  setMinBytes?(n: number): void;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 5000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

function macBytes(text: string): Uint8Array {
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

interface Path {
  iface: string;
  srcMac: Uint8Array;
  dstMac: Uint8Array;
}

/** Interface and Ethernet addresses towards `peer` (the next hop's MAC from the neighbour table). */
async function pathTo(peer: string): Promise<Path> {
  const route = (JSON.parse(await run('ip', ['-j', 'route', 'get', peer])) as { dev?: string; gateway?: string }[])[0];
  if (route?.dev === undefined) throw new Error(`no route to ${peer}`);
  const hop = route.gateway ?? peer;
  const neigh = JSON.parse(await run('ip', ['-j', 'neigh', 'show', 'to', hop, 'dev', route.dev])) as { lladdr?: string }[];
  const ll = neigh.find((n) => n.lladdr !== undefined)?.lladdr;
  if (ll === undefined) throw new Error(`no neighbour entry for ${hop} on ${route.dev}`);
  const own = (await readFile(`/sys/class/net/${route.dev}/address`, 'utf8')).trim();
  return { iface: route.dev, srcMac: macBytes(own), dstMac: macBytes(ll) };
}

export class InjectingSocketKiller implements SocketKiller {
  injected = 0;
  failed = 0;

  constructor(
    private readonly log: Logger,
    private readonly answerTimeoutMs = 1000,
  ) {}

  async resetLocalPorts(ports: readonly number[], spare?: (peer: string) => boolean): Promise<number> {
    let n = 0;
    for (let i = 0; i < ports.length; i += 64) {
      const out = await run('ss', ['-H', '-tn', 'state', 'established', localPortFilter(ports.slice(i, i + 64))]);
      for (const t of parseSsTuples(out)) {
        if (spare?.(t.peerIp) === true) continue;
        if (await this.resetOne(t)) n++;
      }
    }
    return n;
  }

  async killPeer(address: string): Promise<number> {
    const out = await run('ss', ['-H', '-tn', 'state', 'established', 'dst', ssAddress(address)]);
    let n = 0;
    for (const t of parseSsTuples(out)) if (await this.resetOne(t)) n++;
    return n;
  }

  /** Resets the peer of one established connection; false when its sequence number could not be learned. */
  async resetOne(t: SsTuple): Promise<boolean> {
    let path: Path;
    try {
      path = await pathTo(t.peerIp);
    } catch (e) {
      this.failed++;
      this.log.warn({ peer: t.peerIp, err: errorMessage(e) }, 'RST injection: no path to the peer');
      return false;
    }
    const mod = require('cap') as { Cap: new () => CapHandle };
    const cap = new mod.Cap();
    const buf = Buffer.alloc(65536);
    const ip6 = t.peerIp.includes(':');
    try {
      const linkType = cap.open(path.iface, `tcp and src host ${t.peerIp} and src port ${t.peerPort} and dst port ${t.localPort}`, 1 << 20, buf);
      if (linkType !== 'ETHERNET') throw new Error(`${path.iface}: link type ${linkType} (Ethernet only)`);
      cap.setMinBytes?.(0);
      const answer = new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => {
          resolve(undefined);
        }, this.answerTimeoutMs);
        cap.on('packet', (nbytes) => {
          // Ethernet (14) + IP header + TCP: the ack field of the peer's segment is its rcv_nxt.
          const l4 = ip6 ? 14 + 40 : 14 + (buf[14]! & 0x0f) * 4;
          if (nbytes < l4 + 20 || (buf[l4 + 13]! & 0x10) === 0) return;
          clearTimeout(timer);
          resolve(buf.readUInt32BE(l4 + 8));
        });
      });
      const frame = (flags: number, seq: number, ack: number): Buffer =>
        Buffer.from(
          tcpFrame({ srcIp: t.localIp, dstIp: t.peerIp, srcPort: t.localPort, dstPort: t.peerPort, seq, ack, flags, window: 0, srcMac: path.srcMac, dstMac: path.dstMac }),
        );
      // Out-of-window sequence number: the peer must answer with an ACK carrying its rcv_nxt.
      const probe = frame(0x10, randomInt(0, 2 ** 32), randomInt(0, 2 ** 32));
      cap.send(probe, probe.length);
      const rcvNxt = await answer;
      if (rcvNxt === undefined) {
        this.failed++;
        this.log.warn({ local: `${t.localIp}:${t.localPort}`, peer: `${t.peerIp}:${t.peerPort}` }, 'RST injection: the peer did not answer the probe');
        return false;
      }
      const rst = frame(0x04, rcvNxt, 0);
      cap.send(rst, rst.length);
      this.injected++;
      return true;
    } catch (e) {
      this.failed++;
      this.log.warn({ peer: t.peerIp, err: errorMessage(e) }, 'RST injection failed');
      return false;
    } finally {
      cap.removeAllListeners();
      cap.close();
    }
  }
}

/** True when `ss -K` really destroys sockets here (a loopback connection is the probe). */
export async function sockDestroyWorks(): Promise<boolean> {
  const server = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    const closed = new Promise<boolean>((resolve) => {
      client.once('close', () => {
        resolve(true);
      });
      setTimeout(() => {
        resolve(false);
      }, 1000);
    });
    await run('ss', ['-K', '-tn', 'state', 'established', `( dport = :${port} )`]).catch(() => '');
    return await closed;
  } catch {
    return false;
  } finally {
    client.destroy();
    server.close();
  }
}

/** The socket killer for this host: ss -K where SOCK_DESTROY works, RST injection otherwise. */
export async function createSocketKiller(log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<{ killer: SocketKiller; method: 'ss' | 'inject' }> {
  const forced = env.BULWARK_RESET_METHOD;
  if (forced === 'inject') return { killer: new InjectingSocketKiller(log), method: 'inject' };
  if (forced === 'ss') return { killer: new SsSocketKiller(), method: 'ss' };
  if (await sockDestroyWorks()) return { killer: new SsSocketKiller(), method: 'ss' };
  log.warn('ss -K (SOCK_DESTROY) does not destroy sockets on this kernel: connections are reset with injected RSTs');
  return { killer: new InjectingSocketKiller(log), method: 'inject' };
}
