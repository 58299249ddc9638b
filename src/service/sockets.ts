/**
 * Socket-killing adapter over `ss -K` (SOCK_DESTROY): the kernel aborts the local socket and sends
 * an RST to the peer. Used to reset existing connections on intercepted ports when protection
 * becomes enabled, and to sever a blocked attacker's established connections.
 */
import { spawn } from 'node:child_process';
import { isIP } from 'node:net';

export interface SocketKiller {
  /** Destroys established inbound TCP sockets whose local port is one of `ports`. Returns the count. */
  resetLocalPorts(ports: readonly number[]): Promise<number>;
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

/** ss wants IPv6 addresses in brackets. */
export function ssAddress(address: string): string {
  const [ip, len] = address.split('/');
  if (ip !== undefined && isIP(ip) === 6) return len === undefined ? `[${ip}]` : `[${ip}]/${len}`;
  return address;
}

export class SsSocketKiller implements SocketKiller {
  async resetLocalPorts(ports: readonly number[]): Promise<number> {
    let n = 0;
    // Long filters are slow to parse in ss; 64 ports a call keeps each under a millisecond or two.
    for (let i = 0; i < ports.length; i += 64) {
      const chunk = ports.slice(i, i + 64);
      const r = await runSs(['-K', '-H', '-tn', 'state', 'established', localPortFilter(chunk)]);
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
