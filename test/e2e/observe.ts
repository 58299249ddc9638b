/**
 * What end-to-end tests observe of a running daemon: its "Network attack detected" events (the
 * EVE file) and the kernel's blocked sets inside the protected namespace, plus a polling helper.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { DaemonHandle } from './daemon.js';
import { nftSetElements } from './nft.js';
import type { Host } from './netns.js';

/** The alert lines of the daemon's event file so far (the caller names the fields it reads). */
export function alertsOf<T>(d: DaemonHandle): T[] {
  if (!existsSync(d.eventsFile)) return [];
  return readFileSync(d.eventsFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"event_type":"alert"'))
    .map((l) => JSON.parse(l) as T);
}

/** Polls `fn` until it returns something other than undefined; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Elements of the host's blocked4 (or blocked6) set ([] when the set is missing). */
export function blockedSet(h: Host, set: 'blocked4' | 'blocked6' = 'blocked4'): Promise<string[]> {
  return nftSetElements(h, set);
}
