/** Shared by `bulwark blocked`, `block`, `unblock`: daemon first, direct mode when none answers. */
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { BulwarkError, isBulwarkError } from '../errors.js';
import type { CliContext, ControlClient } from '../cli/types.js';
import { normalizeAddress } from './address.js';
import { formatDuration } from '../cli/output.js';
import type { BlockEntry } from './types.js';

export const DIRECT_NOTICE = 'daemon not running: acting on the kernel and state file directly\n';

/** The control client, or undefined when no daemon listens (then the caller goes direct and says so). */
export async function daemonOrDirect(ctx: CliContext): Promise<ControlClient | undefined> {
  try {
    return await ctx.control();
  } catch (e) {
    // Permission problems are not "daemon down": acting directly would fail the same way.
    if (isBulwarkError(e, 'BULWARK_ERR_UNREACHABLE') && !/permission denied/i.test(e.message)) {
      ctx.stderr.write(DIRECT_NOTICE);
      return undefined;
    }
    throw e;
  }
}

export async function cliConfig(ctx: CliContext): Promise<Config> {
  if (ctx.config) return ctx.config();
  return (await loadConfig(ctx.configPath, ctx.env ?? process.env)).config;
}

/** Validates and normalises command-line addresses; an invalid one is a usage error (exit 2). */
export function cliAddress(text: string, command: string): string {
  try {
    return normalizeAddress(text);
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_USAGE', `${isBulwarkError(e) ? e.message : String(e)} (see \`bulwark ${command} --help\`)`);
  }
}

export interface EntryLike extends BlockEntry {
  expiresInMs?: number;
}

export function expiresIn(e: EntryLike, now: number): string {
  return formatDuration(Math.max(0, e.expiresInMs ?? e.expiresAtMs - now));
}

export function shortTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
