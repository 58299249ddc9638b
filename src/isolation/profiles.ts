/**
 * Network profiles (databases/network-profiles.yaml): read-only sets of exclusion rules. A rule's
 * remoteAddress may be $DNS_SERVERS or $DHCP_SERVERS: the host's own resolvers / DHCP servers found
 * at isolation time (resolv.conf, systemd-resolved, dhclient and networkd leases); "any" when none is known.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ExclusionDirection, ExclusionProtocol } from '../config/types.js';
import { BulwarkError } from '../errors.js';
import { normaliseAddress, parsePorts, parseCidr } from './addr.js';

export interface ProfileRule {
  direction: ExclusionDirection;
  protocol: ExclusionProtocol;
  /** Address/CIDR, $DNS_SERVERS, $DHCP_SERVERS, or undefined (any). */
  remoteAddress?: string;
  localPorts: string;
  remotePorts: string;
  description: string;
}

export interface Profile {
  name: string;
  description: string;
  rules: ProfileRule[];
}

export interface ProfileDb {
  profiles: Map<string, Profile>;
}

export interface HostNetInfo {
  dnsServers: string[];
  dhcpServers: string[];
}

const PLACEHOLDERS = new Set(['$DNS_SERVERS', '$DHCP_SERVERS']);

export const DEFAULT_PROFILES_PATH = new URL('../../databases/network-profiles.yaml', import.meta.url).pathname;

function dbError(where: string, msg: string): BulwarkError {
  return new BulwarkError('BULWARK_ERR_DATABASE', `${where}: ${msg}`);
}

/** Parses and validates the profile database text. */
export function parseProfiles(text: string, source = 'network-profiles.yaml'): ProfileDb {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_DATABASE', `${source}: not valid YAML: ${(e as Error).message}`, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null) throw dbError(source, 'not a mapping');
  const root = doc as Record<string, unknown>;
  if (root.version !== 1) throw dbError(source, 'version must be 1');
  const profiles = root.profiles;
  if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles)) throw dbError(source, 'profiles must be a mapping');
  const out = new Map<string, Profile>();
  for (const [name, raw] of Object.entries(profiles as Record<string, unknown>)) {
    const where = `${source}: profile ${name}`;
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw dbError(where, 'name must be lower-case letters, digits and dashes');
    if (typeof raw !== 'object' || raw === null) throw dbError(where, 'must be a mapping');
    const p = raw as Record<string, unknown>;
    if (!Array.isArray(p.rules) || p.rules.length === 0) throw dbError(where, 'rules must be a non-empty list');
    const rules: ProfileRule[] = p.rules.map((x: unknown, i: number) => {
      const w = `${where} rule ${i + 1}`;
      if (typeof x !== 'object' || x === null) throw dbError(w, 'must be a mapping');
      const r = x as Record<string, unknown>;
      const direction = r.direction;
      if (direction !== 'inbound' && direction !== 'outbound' && direction !== 'both') throw dbError(w, 'bad direction');
      const protocol = r.protocol;
      if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'icmp' && protocol !== 'any') throw dbError(w, 'bad protocol');
      const portField = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : v === undefined ? 'any' : '?');
      const localPorts = portField(r.localPorts);
      const remotePorts = portField(r.remotePorts);
      try {
        parsePorts(localPorts, 'localPorts');
        parsePorts(remotePorts, 'remotePorts');
      } catch (e) {
        throw dbError(w, (e as Error).message);
      }
      const rule: ProfileRule = { direction, protocol, localPorts, remotePorts, description: typeof r.description === 'string' ? r.description : '' };
      if (r.remoteAddress !== undefined && r.remoteAddress !== 'any') {
        if (typeof r.remoteAddress !== 'string') throw dbError(w, 'remoteAddress must be a string');
        if (PLACEHOLDERS.has(r.remoteAddress)) rule.remoteAddress = r.remoteAddress;
        else {
          try {
            rule.remoteAddress = normaliseAddress(r.remoteAddress);
          } catch (e) {
            throw dbError(w, (e as Error).message);
          }
        }
      }
      return rule;
    });
    out.set(name, { name, description: typeof p.description === 'string' ? p.description : '', rules });
  }
  return { profiles: out };
}

export async function loadProfiles(path = DEFAULT_PROFILES_PATH): Promise<ProfileDb> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_DATABASE', `cannot read network profiles ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parseProfiles(text, path);
}

/** Unknown profile names in the config are a configuration error. */
export function checkProfileNames(db: ProfileDb, names: readonly string[]): void {
  const unknown = names.filter((n) => !db.profiles.has(n));
  if (unknown.length > 0) {
    throw new BulwarkError('BULWARK_ERR_CONFIG', `isolation.profiles: unknown network profile ${unknown.join(', ')} (known: ${[...db.profiles.keys()].join(', ')})`);
  }
}

function usableServer(a: string): string | undefined {
  try {
    const c = parseCidr(a);
    // Loopback resolvers (127.0.0.53 stub, dnsmasq on ::1) are reached over lo, which is always allowed.
    if (c.family === 4 && c.addr.startsWith('127.')) return undefined;
    if (c.family === 6 && c.addr === '::1') return undefined;
    if (c.addr === '0.0.0.0' || c.addr === '::') return undefined;
    return c.addr;
  } catch {
    return undefined;
  }
}

/** Name servers of a resolv.conf text (IPv6 zone ids are dropped: nft matches the address). */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const a = usableServer(m[1]!.replace(/%.*$/, ''));
    if (a !== undefined && !out.includes(a)) out.push(a);
  }
  return out;
}

/** DHCP server addresses in dhclient leases ("option dhcp-server-identifier A;") or networkd leases ("SERVER_ADDRESS=A"). */
export function parseLeases(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:dhcp-server-identifier\s+([0-9a-fA-F.:]+)\s*;|^SERVER_ADDRESS=(\S+))/gm)) {
    const a = usableServer((m[1] ?? m[2])!);
    if (a !== undefined && !out.includes(a)) out.push(a);
  }
  return out;
}

export interface HostInfoPaths {
  /** resolv.conf files, read in order (default /etc/resolv.conf, then systemd-resolved's upstream list). */
  resolvConf: string[];
  /** Lease directories: dhclient and systemd-networkd. */
  leaseDirs: string[];
}

export const DEFAULT_HOST_INFO_PATHS: HostInfoPaths = {
  resolvConf: ['/etc/resolv.conf', '/run/systemd/resolve/resolv.conf'],
  leaseDirs: ['/var/lib/dhcp', '/var/lib/dhclient', '/run/systemd/netif/leases', '/var/lib/NetworkManager'],
};

const MAX_LEASE_FILES = 64;

/** Reads the host's resolvers and DHCP servers; missing files are simply skipped. */
export async function readHostNetInfo(paths: HostInfoPaths = DEFAULT_HOST_INFO_PATHS): Promise<HostNetInfo> {
  const dns: string[] = [];
  for (const p of paths.resolvConf) {
    try {
      for (const a of parseResolvConf(await readFile(p, 'utf8'))) if (!dns.includes(a)) dns.push(a);
    } catch {
      /* absent: nothing known from this source */
    }
  }
  const dhcp: string[] = [];
  for (const dir of paths.leaseDirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).slice(0, MAX_LEASE_FILES);
    } catch {
      continue;
    }
    for (const n of names) {
      if (!/lease/i.test(n) && !/^[0-9]+$/.test(n)) continue;
      try {
        for (const a of parseLeases(await readFile(join(dir, n), 'utf8'))) if (!dhcp.includes(a)) dhcp.push(a);
      } catch {
        /* unreadable lease file */
      }
    }
  }
  return { dnsServers: dns, dhcpServers: dhcp };
}
