/**
 * Where the never-block list's live addresses come from: the host's interfaces, current SSH
 * clients, and management host names. Kept apart so the pure list is tested without a host.
 */
import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { normalizeAddress } from './address.js';
import { hostFromSocketAddress, parseSsPeers, type NeverBlockList } from './neverblock.js';

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

/** Ethernet addresses by interface name (same read as interfaceAddresses; all-zero ones left out). */
export function interfaceMacs(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, list] of Object.entries(networkInterfaces())) {
    const mac = list?.find((a) => a.mac !== '00:00:00:00:00:00')?.mac;
    if (mac !== undefined) out.set(name, mac);
  }
  return out;
}

/** Peers of established connections to local port 22 (`ss -Htn state established '( sport = :22 )'`). */
export function sshClientAddresses(timeoutMs = 3000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('ss', ['-Htn', 'state', 'established', '( sport = :22 )'], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => {
      if (err) reject(new Error(`ss: ${err.message}`, { cause: err }));
      else resolve(parseSsPeers(stdout));
    });
  });
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
  /** Ethernet address per interface (optional: only the live capture's direction check uses it). */
  interfaceMacs?: () => Map<string, string>;
  sshClients: () => Promise<string[]>;
  management: (mgmt: Config['management']) => Promise<string[]>;
}

export function realNeverBlockSources(log: Logger): NeverBlockSources {
  return { interfaces: interfaceAddresses, interfaceMacs, sshClients: () => sshClientAddresses(), management: (m) => managementAddresses(m, log) };
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
  cfg: Pick<Config, 'neverBlock' | 'neverBlockSshClients' | 'management'>,
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
  put('interface', own);
  onInterfaces?.(own, src.interfaceMacs?.());
  put('management', await src.management(cfg.management));
  if (cfg.neverBlockSshClients) {
    try {
      put('ssh-client', await src.sshClients());
    } catch (e) {
      // Keep the last known SSH clients rather than dropping their protection on a glitch.
      log.warn({ err: errorMessage(e) }, 'never-block: cannot list SSH clients (ss); keeping the previous list');
    }
  } else put('ssh-client', []);
  return changed;
}

function normalizeOrKeep(c: string): string {
  try {
    return normalizeAddress(c);
  } catch {
    return c;
  }
}
