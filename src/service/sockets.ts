/**
 * Socket-killing adapter over `ss -K` (SOCK_DESTROY): the kernel aborts the local socket and sends
 * an RST to the peer. Used to reset existing connections on intercepted ports when protection
 * becomes enabled, and to sever a blocked attacker's established connections.
 */
import { spawn } from 'node:child_process';
import { isIP } from 'node:net';
import { normalizeAddress } from '../blocklist/address.js';

export interface SocketKiller {
  /**
   * Destroys established TCP sockets whose local port is one of `ports`, except those whose peer
   * `spare` accepts (never-block addresses: the operator's own sessions). Returns the count.
   */
  resetLocalPorts(ports: readonly number[], spare?: (peer: string) => boolean): Promise<number>;
  /** Destroys every TCP socket whose remote address is `address` (IP or CIDR). Returns the count. */
  killPeer(address: string): Promise<number>;
}

function runSs(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('ss', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => {
      resolve({ code: 127, stdout, stderr: e.message });
    });
    child.on('close', (code) => {
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

function countLines(s: string): number {
  return s.split('\n').filter((l) => l.trim() !== '').length;
}

/** Builds the ss filter for local ports, e.g. "( sport = :80 or sport = :443 )". */
export function localPortFilter(ports: readonly number[]): string {
  return `( ${ports.map((p) => `sport = :${p}`).join(' or ')} )`;
}

export interface SsTuple {
  localIp: string;
  localPort: number;
  peerIp: string;
  peerPort: number;
}

function splitHostPort(text: string): { ip: string; port: number } | undefined {
  const i = text.lastIndexOf(':');
  if (i <= 0) return undefined;
  let host = text.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const pct = host.indexOf('%');
  if (pct >= 0) host = host.slice(0, pct);
  const port = Number(text.slice(i + 1));
  if (isIP(host) === 0 || !Number.isInteger(port)) return undefined;
  // The one normalisation (IPv4-mapped addresses on dual-stack sockets become IPv4).
  return { ip: normalizeAddress(host), port };
}

/** Connections of `ss -H -tn state established` lines ("0 0 10.0.0.1:80 10.0.0.2:5555"). */
export function parseSsTuples(text: string): SsTuple[] {
  const out: SsTuple[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    const local = cols[2] === undefined ? undefined : splitHostPort(cols[2]);
    const peer = cols[3] === undefined ? undefined : splitHostPort(cols[3]);
    if (local && peer) out.push({ localIp: local.ip, localPort: local.port, peerIp: peer.ip, peerPort: peer.port });
  }
  return out;
}

/** Peer addresses of `ss -H -tn state established` lines. */
export function parseSsPeers(text: string): string[] {
  return parseSsTuples(text).map((t) => t.peerIp);
}

/** ss wants IPv6 addresses in brackets. */
export function ssAddress(address: string): string {
  const [ip, len] = address.split('/');
  if (ip !== undefined && isIP(ip) === 6) return len === undefined ? `[${ip}]` : `[${ip}]/${len}`;
  return address;
}

export class SsSocketKiller implements SocketKiller {
  async resetLocalPorts(ports: readonly number[], spare?: (peer: string) => boolean): Promise<number> {
    let n = 0;
    // Long filters are slow to parse in ss; 64 ports a call keeps each under a millisecond or two.
    for (let i = 0; i < ports.length; i += 64) {
      const filter = localPortFilter(ports.slice(i, i + 64));
      const listed = await runSs(['-H', '-tn', 'state', 'established', filter]);
      if (listed.code !== 0) throw new Error(`ss failed: ${listed.stderr.trim()}`);
      const peers = parseSsPeers(listed.stdout);
      if (peers.length === 0) continue;
      const spared = [...new Set(peers.filter((p) => spare?.(p) === true))];
      const expr = spared.length === 0 ? filter : `${filter} and not ( ${spared.map((p) => `dst ${ssAddress(p)}`).join(' or ')} )`;
      const r = await runSs(['-K', '-H', '-tn', 'state', 'established', expr]);
      if (r.code !== 0) throw new Error(`ss -K failed: ${r.stderr.trim()}`);
      n += countLines(r.stdout);
    }
    return n;
  }

  async killPeer(address: string): Promise<number> {
    const r = await runSs(['-K', '-H', '-tn', 'dst', ssAddress(address)]);
    if (r.code !== 0) throw new Error(`ss -K failed: ${r.stderr.trim()}`);
    return countLines(r.stdout);
  }
}
