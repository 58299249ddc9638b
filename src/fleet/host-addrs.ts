/**
 * Addresses a fleet host never blocks on its own, whatever a shared decision says: the NATS
 * servers (a block would cut the host off the fleet), its default gateways and its resolvers.
 * Parsing is pure; gatherAutoProtect reads /proc and resolves server names (bounded).
 */
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { normalizeAddress } from '../blocklist/address.js';
import type { ManagementEndpoint } from '../config/types.js';

/** Host part of "tls://h:4222", "nats://[2001:db8::1]:4222", "h:4222". */
export function serverHost(url: string): string {
  const noScheme = url.replace(/^[a-z]+:\/\//, '');
  const br = /^\[([^\]]+)\]/.exec(noScheme);
  if (br?.[1] !== undefined) return br[1];
  const c = noScheme.lastIndexOf(':');
  return c > 0 ? noScheme.slice(0, c) : noScheme;
}

/** Default gateways from /proc/net/route (IPv4, little-endian hex). */
export function parseRouteGateways(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 3 || cols[1] !== '00000000' || cols[2] === '00000000') continue;
    const n = parseInt(cols[2]!, 16);
    if (!Number.isFinite(n)) continue;
    out.push([n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.'));
  }
  return [...new Set(out)];
}

/** Default gateways from /proc/net/ipv6_route (destination ::/0 with a next hop). */
export function parseRoute6Gateways(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5 || cols[0] !== '0'.repeat(32) || cols[1] !== '00' || cols[4] === '0'.repeat(32)) continue;
    const hex = cols[4]!;
    if (!/^[0-9a-f]{32}$/i.test(hex)) continue;
    try {
      out.push(normalizeAddress(hex.match(/.{4}/g)!.join(':')));
    } catch {
      /* not an address */
    }
  }
  return [...new Set(out)];
}

/** Port of a server URL (default 4222). */
export function serverPort(url: string): number {
  const m = /:([0-9]{1,5})$/.exec(url);
  return m ? Number(m[1]) : 4222;
}

export async function gatherAutoProtect(
  servers: readonly string[],
  resolvers: readonly string[],
  resolveTimeoutMs = 2000,
): Promise<{ neverBlock: string[]; management: ManagementEndpoint[]; problems: string[] }> {
  const out = new Set<string>();
  const management: ManagementEndpoint[] = [];
  const problems: string[] = [];
  for (const s of servers) {
    const h = serverHost(s);
    // Host names stay names: src/blocklist and src/isolation resolve management names themselves.
    management.push({ address: isIP(h) !== 0 ? normalizeAddress(h) : h, port: serverPort(s), description: `fleet NATS server ${s}` });
    if (isIP(h) !== 0) continue;
    try {
      const timeout = new Promise<never>((_r, reject) => {
        setTimeout(() => {
          reject(new Error('timed out'));
        }, resolveTimeoutMs).unref();
      });
      await Promise.race([lookup(h, { all: true }), timeout]);
    } catch (e) {
      problems.push(`NATS server ${h} does not resolve yet (${e instanceof Error ? e.message : String(e)}); it is protected once it does`);
    }
  }
  for (const [file, parse] of [['/proc/net/route', parseRouteGateways], ['/proc/net/ipv6_route', parseRoute6Gateways]] as const) {
    try {
      for (const g of parse(await readFile(file, 'utf8'))) out.add(g);
    } catch {
      /* no such table: no gateway of that family */
    }
  }
  for (const r of resolvers) {
    try {
      out.add(normalizeAddress(r));
    } catch {
      /* not an address */
    }
  }
  return { neverBlock: [...out], management, problems };
}
