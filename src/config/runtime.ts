/**
 * Runtime checks, separate from parsing (parseConfig stays pure): do the named interfaces exist,
 * is the nft binary installed. Probes are injected so the checks are unit-testable.
 */
import { networkInterfaces } from 'node:os';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Config } from './types.js';

export interface RuntimeIssue {
  severity: 'error' | 'warning';
  path: string;
  message: string;
}

export interface RuntimeProbes {
  interfaceNames(): string[];
  hasBinary(name: string): Promise<boolean>;
}

export const systemProbes: RuntimeProbes = {
  interfaceNames: () => Object.keys(networkInterfaces()),
  async hasBinary(name) {
    const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).concat(['/usr/sbin', '/sbin']);
    for (const d of dirs) {
      try {
        await access(join(d, name), constants.X_OK);
        return true;
      } catch {
        // next directory
      }
    }
    return false;
  },
};

/** Errors make `bulwark run` exit 78; warnings are logged. */
export async function checkRuntime(config: Config, probes: RuntimeProbes = systemProbes): Promise<RuntimeIssue[]> {
  const issues: RuntimeIssue[] = [];
  const present = new Set(probes.interfaceNames());
  for (const [i, name] of config.interfaces.entries()) {
    if (!present.has(name)) issues.push({ severity: 'error', path: `interfaces[${i}]`, message: `interface "${name}" does not exist (present: ${[...present].sort().join(', ')})` });
  }
  if (config.protection.enabled || config.isolation.policy.enabled || config.fleet !== undefined) {
    if (!(await probes.hasBinary('nft'))) {
      issues.push({ severity: config.action === 'block' ? 'error' : 'warning', path: 'action', message: 'the nft binary (nftables) is not installed; blocking and isolation need it' });
    }
  }
  return issues;
}
