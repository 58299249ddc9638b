/**
 * The blocklist state file (stateDir/blocklist.json): every block with its metadata, so a
 * restart or a lost kernel table restores blocks with the time they have left.
 *
 * Written atomically (temp file in the same directory, fsync, rename, fsync of the directory):
 * a crash leaves either the old or the new file, never a mix. A file that cannot be parsed is
 * moved aside as blocklist.json.corrupt-<ts> and reported; the daemon starts without it (the
 * kernel's elements are then adopted, see kernel-sync.ts).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { BulwarkError } from '../errors.js';
import { normalizeAddress } from './address.js';
import type { BlockEntry } from './types.js';

export const STATE_FILE = 'blocklist.json';
export const STATE_VERSION = 1;

export interface StateFile {
  version: number;
  savedAt: string;
  entries: BlockEntry[];
}

export type LoadResult =
  | { status: 'ok'; entries: BlockEntry[]; dropped: number }
  | { status: 'missing'; entries: [] }
  | { status: 'corrupt'; entries: []; movedTo: string | undefined; error: string };

const SOURCES = new Set(['detection', 'cli', 'restore', 'fleet']);

/** Validates one entry; returns undefined for anything malformed (dropped, counted). */
function toEntry(v: unknown): BlockEntry | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.address !== 'string' || typeof o.reason !== 'string') return undefined;
  if (typeof o.blockedAtMs !== 'number' || typeof o.expiresAtMs !== 'number' || !Number.isFinite(o.expiresAtMs)) return undefined;
  let address: string;
  try {
    address = normalizeAddress(o.address);
  } catch {
    return undefined;
  }
  const family: 4 | 6 = address.includes(':') ? 6 : 4;
  const source = typeof o.source === 'string' && SOURCES.has(o.source) ? (o.source as BlockEntry['source']) : 'restore';
  const e: BlockEntry = { address, family, reason: o.reason.slice(0, 1024), source, blockedAtMs: o.blockedAtMs, expiresAtMs: o.expiresAtMs };
  if (typeof o.signatureId === 'number') e.signatureId = o.signatureId;
  if (typeof o.eventId === 'string') e.eventId = o.eventId;
  return e;
}

export function parseState(text: string): { entries: BlockEntry[]; dropped: number } {
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { entries?: unknown }).entries)) {
    throw new Error('not a blocklist state file (no "entries" array)');
  }
  const raw = (parsed as { entries: unknown[] }).entries;
  const entries: BlockEntry[] = [];
  for (const r of raw) {
    const e = toEntry(r);
    if (e) entries.push(e);
  }
  return { entries, dropped: raw.length - entries.length };
}

/**
 * Reads the state file. Expired entries are filtered by the caller (it knows the clock).
 * Never throws for a bad file: moves it aside and says so.
 */
export function loadState(stateDir: string, nowMs: number, opts: { moveCorrupt?: boolean } = {}): LoadResult {
  const file = join(stateDir, STATE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing', entries: [] };
    return { status: 'corrupt', entries: [], movedTo: undefined, error: `cannot read ${file}: ${(e as Error).message}` };
  }
  try {
    const { entries, dropped } = parseState(text);
    return { status: 'ok', entries, dropped };
  } catch (e) {
    if (opts.moveCorrupt === false) return { status: 'corrupt', entries: [], movedTo: undefined, error: (e as Error).message };
    const movedTo = `${file}.corrupt-${new Date(nowMs).toISOString().replace(/[:.]/g, '-')}`;
    try {
      renameSync(file, movedTo);
      return { status: 'corrupt', entries: [], movedTo, error: (e as Error).message };
    } catch {
      return { status: 'corrupt', entries: [], movedTo: undefined, error: (e as Error).message };
    }
  }
}

/** The file's text from the entries' JSON lines. One entry per line keeps a 100k-entry file diffable and greppable. */
function stateText(lines: string[], nowMs: number): string {
  return `{"version":${STATE_VERSION},"savedAt":${JSON.stringify(new Date(nowMs).toISOString())},"entries":[\n${lines.join(',\n')}\n]}\n`;
}

/**
 * Atomic write like saveState, without stalling the event loop: the entries are serialised in
 * slices with a yield between them (100k entries are ~0.2 s of JSON.stringify), and the file is
 * written, synced and renamed asynchronously. Throws BULWARK_ERR_STATE.
 */
export async function saveStateAsync(stateDir: string, entries: BlockEntry[], nowMs: number, slice = 2000): Promise<void> {
  const file = join(stateDir, STATE_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const lines: string[] = new Array<string>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      lines[i] = JSON.stringify(entries[i]);
      if (i % slice === slice - 1) await new Promise((r) => setImmediate(r));
    }
    const text = stateText(lines, nowMs);
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    const dh = await open(stateDir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_STATE', `blocklist: cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** Atomic write: temp file, fsync, rename, fsync the directory. Throws BULWARK_ERR_STATE. */
export function saveState(stateDir: string, entries: BlockEntry[], nowMs: number): void {
  const file = join(stateDir, STATE_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const text = stateText(entries.map((e) => JSON.stringify(e)), nowMs);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    const dfd = openSync(stateDir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_STATE', `blocklist: cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
}
