/**
 * Action mode dry-run: an Nft that logs every transaction (JSON, as it would have been applied)
 * and applies nothing. Lists pass through, so checks still see the real kernel.
 */
import type { Logger } from 'pino';
import { BulwarkError } from '../errors.js';
import type { Nft, NftCommand } from './types.js';

/** Big batches (restore of 100k blocks) are cut in the log; the count says how many were left out. */
const MAX_LOGGED_COMMANDS = 200;
const MAX_LOGGED_ELEMENTS = 500;

function trimForLog(commands: NftCommand[]): { nftables: unknown[]; omittedCommands: number; omittedElements: number } {
  let omittedElements = 0;
  const shown = commands.slice(0, MAX_LOGGED_COMMANDS).map((c) => {
    const verb = Object.keys(c)[0];
    const body = verb === undefined ? undefined : (c[verb] as { element?: { elem?: unknown[] } } | undefined);
    const elem = body?.element?.elem;
    if (verb === undefined || body?.element === undefined || elem === undefined || elem.length <= MAX_LOGGED_ELEMENTS) return c;
    omittedElements += elem.length - MAX_LOGGED_ELEMENTS;
    return { [verb]: { ...body, element: { ...body.element, elem: elem.slice(0, MAX_LOGGED_ELEMENTS) } } };
  });
  return { nftables: shown, omittedCommands: Math.max(0, commands.length - MAX_LOGGED_COMMANDS), omittedElements };
}

/** Wraps `real`; while `active()` is true, apply/applyText only log. */
export function dryRunNft(real: Nft, log: Logger, active: () => boolean): Nft {
  return {
    apply(commands) {
      if (!active()) return real.apply(commands);
      const t = trimForLog(commands);
      log.info({ dryRun: true, nft: { nftables: t.nftables }, omittedCommands: t.omittedCommands, omittedElements: t.omittedElements }, 'dry-run: nft transaction not applied');
      return Promise.resolve();
    },
    applyText(script) {
      if (!active()) return real.applyText(script);
      log.info({ dryRun: true, nftScript: script.slice(0, 64 * 1024) }, 'dry-run: nft script not applied');
      return Promise.resolve();
    },
    list(args, opts) {
      return real.list(args, opts);
    },
    probeText(script) {
      // A probe never commits, but dry-run promises no transaction at all.
      if (active()) return Promise.reject(new BulwarkError('BULWARK_ERR_NFT', 'dry-run: nft probe not run'));
      return real.probeText(script);
    },
  };
}
