/**
 * Where the never-block list's live addresses come from: the host's interfaces, authenticated
 * sessions (src/blocklist/sessions.ts), default gateways, configured resolvers and management
 * host names. Kept apart so the pure list is tested without a host.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { normalizeAddress, subnetBroadcast } from './address.js';
import { hostFromSocketAddress, type NeverBlockList } from './neverblock.js';
import { ProcSessionSource } from './sessions.js';
import { parseResolvConf, DEFAULT_HOST_INFO_PATHS } from '../isolation/profiles.js';

/** Every address on the host's interfaces (this network namespace's), without zone ids. */
export function interfaceAddresses(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const h = hostFromSocketAddress(a.address);
      if (h !== undefined) out.add(h);
    }
  }
  return [...out];
}

/** The broadcast address of each IPv4 subnet the host is on (a block of it would cut the subnet's broadcasts). */
export function interfaceBroadcasts(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const b = a.cidr === null ? undefined : subnetBroadcast(a.cidr);
      if (b !== undefined) out.add(b);
    }
  }
  return [...out];
}

/** Ethernet addresses by interface name (same read as interfaceAddresses; all-zero ones left out). */
export function interfaceMacs(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, list] of Object.entries(networkInterfaces())) {
    const mac = list?.find((a) => a.mac !== '00:00:00:00:00:00')?.mac;
    if (mac !== undefined) out.set(name, mac);
  }
  return out;
}

/** Gateways of `ip -j route show default` output (also multipath nexthops), normalised. */
export function parseRouteGateways(json: string): string[] {
  const out = new Set<string>();
  let routes: unknown;
  try {
    routes = JSON.parse(json === '' ? '[]' : json);
  } catch {
    return [];
  }
  if (!Array.isArray(routes)) return [];
  const add = (g: unknown): void => {
    if (typeof g !== 'string') return;
    const h = hostFromSocketAddress(g);
    if (h !== undefined) out.add(h);
  };
  for (const r of routes as unknown[]) {
    if (r === null || typeof r !== 'object') continue;
    const o = r as { gateway?: unknown; via?: { host?: unknown }; nexthops?: unknown };
    add(o.gateway);
    add(o.via?.host);
    if (Array.isArray(o.nexthops)) for (const n of o.nexthops as { gateway?: unknown; via?: { host?: unknown } }[]) add(n.gateway ?? n.via?.host);
  }
  return [...out];
}

function ipJson(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${err.message}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

/** The host's default gateways, both families (`ip -j route show default`, `ip -j -6 route show default`). */
export async function defaultGateways(timeoutMs = 3000): Promise<string[]> {
  const [v4, v6] = await Promise.all([ipJson(['-j', 'route', 'show', 'default'], timeoutMs), ipJson(['-j', '-6', 'route', 'show', 'default'], timeoutMs)]);
  return [...new Set([...parseRouteGateways(v4), ...parseRouteGateways(v6)])];
}

/** Name servers of the resolv.conf files (missing files skipped; loopback stubs left out: always never-blocked). */
export async function configuredResolvers(paths: readonly string[] = DEFAULT_HOST_INFO_PATHS.resolvConf): Promise<string[]> {
  const out = new Set<string>();
  for (const p of paths) {
    try {
      for (const a of parseResolvConf(await readFile(p, 'utf8'))) out.add(normalizeAddress(a));
    } catch {
      // missing file or odd entry
    }
  }
  return [...out];
}

/** Management endpoints as CIDRs; host names are resolved (all addresses), failures are logged and skipped. */
export async function managementAddresses(mgmt: Config['management'], log: Logger): Promise<string[]> {
  const out: string[] = [];
  for (const m of mgmt) {
    const a = m.address.trim();
    const bare = a.includes('/') ? a.slice(0, a.indexOf('/')) : a;
    if (isIP(bare) !== 0) {
      out.push(a);
      continue;
    }
    try {
      for (const r of await lookup(a, { all: true })) out.push(r.address);
    } catch (e) {
      log.warn({ host: a, err: errorMessage(e) }, 'never-block: management host name does not resolve; not protected until it does');
    }
  }
  return out;
}

export interface NeverBlockSources {
  interfaces: () => string[];
  /** Subnet broadcast addresses (optional: never blocked with the interface addresses). */
  broadcasts?: () => string[];
  /** Ethernet address per interface (optional: only the live capture's direction check uses it). */
  interfaceMacs?: () => Map<string, string>;
  /** Remote addresses of authenticated sessions (utmp + sshd session processes past authentication). */
  sessions: () => Promise<string[]>;
  management: (mgmt: Config['management']) => Promise<string[]>;
  /** Default gateways (optional in tests). */
  gateways?: () => Promise<string[]>;
  /** Configured DNS resolvers (optional in tests). */
  resolvers?: (cfg: Pick<Config, 'isolation'>) => Promise<string[]>;
}

export function realNeverBlockSources(log: Logger): NeverBlockSources {
  const sessions = new ProcSessionSource();
  return {
    interfaces: interfaceAddresses,
    broadcasts: interfaceBroadcasts,
    interfaceMacs,
    sessions: () => sessions.authenticatedPeers(),
    management: (m) => managementAddresses(m, log),
    gateways: () => defaultGateways(),
    resolvers: (cfg) => configuredResolvers(cfg.isolation.resolvConf ?? DEFAULT_HOST_INFO_PATHS.resolvConf),
  };
}

/** Receives the host's own addresses (and interface MACs) each time the refresh reads them. */
export type InterfacesListener = (addresses: string[], macs: Map<string, string> | undefined) => void;

/**
 * Fills every source of the list once. Returns true if the merged list changed. Invalid
 * configured entries are logged (config validation should have refused them already).
 * `onInterfaces` gets the same interface read (the live engine's own-address set).
 */
export async function refreshNeverBlock(
  list: NeverBlockList,
  cfg: NeverBlockConfig,
  src: NeverBlockSources,
  log: Logger,
  onInterfaces?: InterfacesListener,
): Promise<boolean> {
  let changed = false;
  const put = (source: Parameters<NeverBlockList['set']>[0], cidrs: string[]): void => {
    const r = list.set(source, cidrs);
    if (r.invalid.length > 0) log.warn({ source, invalid: r.invalid }, 'never-block: invalid entries ignored');
    changed ||= r.changed;
  };
  put('config', cfg.neverBlock.map((c) => normalizeOrKeep(c)));
  const own = src.interfaces();
  put('interface', [...own, ...(src.broadcasts?.() ?? [])]);
  onInterfaces?.(own, src.interfaceMacs?.());
  put('management', await src.management(cfg.management));
  changed = (await refreshSessions(list, cfg, src, log)) || changed;
  const opt = async (source: 'gateway' | 'resolver', on: boolean, read: (() => Promise<string[]>) | undefined): Promise<void> => {
    if (!on || read === undefined) {
      put(source, []);
      return;
    }
    try {
      put(source, await read());
    } catch (e) {
      // Keep the last known list rather than dropping its protection on a glitch.
      log.warn({ err: errorMessage(e), source }, 'never-block: cannot read; keeping the previous list');
    }
  };
  await opt('gateway', cfg.neverBlockGateways, src.gateways);
  await opt('resolver', cfg.neverBlockResolvers, src.resolvers && (() => src.resolvers!(cfg)));
  return changed;
}

export type NeverBlockConfig = Pick<Config, 'neverBlock' | 'neverBlockSshClients' | 'neverBlockGateways' | 'neverBlockResolvers' | 'management' | 'isolation'>;

/** Re-reads only the authenticated sessions (every config sessionRefreshMs). Returns true if the list changed. */
export async function refreshSessions(list: NeverBlockList, cfg: Pick<Config, 'neverBlockSshClients'>, src: Pick<NeverBlockSources, 'sessions'>, log: Logger): Promise<boolean> {
  if (!cfg.neverBlockSshClients) return list.set('session', []).changed;
  try {
    const r = list.set('session', await src.sessions());
    if (r.invalid.length > 0) log.warn({ invalid: r.invalid }, 'never-block: invalid session addresses ignored');
    return r.changed;
  } catch (e) {
    // Keep the last known sessions rather than dropping the operator's protection on a glitch.
    log.warn({ err: errorMessage(e) }, 'never-block: cannot list authenticated sessions; keeping the previous list');
    return false;
  }
}

function normalizeOrKeep(c: string): string {
  try {
    return normalizeAddress(c);
  } catch {
    return c;
  }
}
