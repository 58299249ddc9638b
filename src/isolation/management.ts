/**
 * Management endpoints as addresses: configured host names are resolved when isolation is applied
 * (before any commit), and a name that does not resolve keeps its last known addresses, with a
 * warning. Separate from the manager because it is the one place isolation does name resolution,
 * with its own timeout and fallback policy.
 */
import { lookup } from 'node:dns/promises';
import type { ManagementEndpoint } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { normaliseAddress, parseCidr } from './addr.js';
import type { ResolvedManagement } from './exclusions.js';

/** getaddrinfo with a 3 s timeout. */
export async function defaultResolve(host: string): Promise<string[]> {
  const timeout = new Promise<never>((_, reject) => {
    setTimeout(() => {
      reject(new Error(`resolving ${host} timed out`));
    }, 3000).unref();
  });
  const res = await Promise.race([lookup(host, { all: true, verbatim: true }), timeout]);
  return res.map((r) => r.address);
}

function isAddressOrCidr(s: string): boolean {
  try {
    parseCidr(s);
    return true;
  } catch {
    return false;
  }
}

export interface ResolvedEndpoints {
  resolved: ResolvedManagement[];
  /** Host name → the addresses used now (to remember as last known). */
  addresses: Record<string, string[]>;
}

/**
 * Resolves the endpoints' host names now; `known` holds the last known addresses per host name.
 * `warn` is called (at once, with the message) for each name that did not resolve.
 */
export async function resolveManagement(
  list: readonly ManagementEndpoint[],
  known: Readonly<Record<string, string[]>>,
  resolve: (host: string) => Promise<string[]>,
  warn: (host: string, lastKnown: string[], msg: string) => void,
): Promise<ResolvedEndpoints> {
  const addresses: Record<string, string[]> = {};
  const resolved: ResolvedManagement[] = [];
  for (const ep of list) {
    if (isAddressOrCidr(ep.address)) {
      resolved.push({ endpoint: ep, addresses: [normaliseAddress(ep.address)] });
      continue;
    }
    try {
      const addrs = [...new Set((await resolve(ep.address)).filter(isAddressOrCidr).map(normaliseAddress))];
      if (addrs.length === 0) throw new Error('no addresses');
      addresses[ep.address] = addrs;
      resolved.push({ endpoint: ep, addresses: addrs });
    } catch (e) {
      const last = known[ep.address] ?? [];
      addresses[ep.address] = last;
      const msg = `management host ${ep.address} did not resolve (${errorMessage(e)}); ${last.length ? `using last known ${last.join(', ')}` : 'no known address: not reachable during isolation'}`;
      warn(ep.address, last, msg);
      resolved.push({ endpoint: ep, addresses: last });
    }
  }
  return { resolved, addresses };
}
