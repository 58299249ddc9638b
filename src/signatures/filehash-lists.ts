/**
 * Compile step of the file hash keywords (`filemd5`/`filesha1`/`filesha256`, see
 * src/engine/app-layer/filehash.ts): reads each list file once (relative to the directory of the
 * rules file that names it, as Suricata's DetectLoadCompleteSigPath resolves it against the rule
 * path) and hands the hashes to the rules. A rule whose list cannot be read or parsed is skipped
 * with a named reason, as Suricata refuses it. So is a rule whose header does not name the
 * protocol the keyword belongs to (`alert tcp … filemd5`): Suricata would inspect the files of
 * every protocol, we hash SMTP attachments only.
 */
import { dirname, isAbsolute, join } from 'node:path';
import { FILE_HASH_KEYWORDS, parseFileHashList, type FileHashParsed } from '../engine/app-layer/filehash.js';
import type { Draft, Skip } from './parsed.js';

/** Hashes one list may hold (bounded: a list is kept in memory per ruleset). */
export const MAX_FILE_HASHES = 1_000_000;

export interface FileHashListOptions {
  /** Reads a file (null: it does not exist); absent: lists cannot be read and such rules are skipped. */
  read?: (path: string) => string | null;
  maxHashes?: number;
}

class ListSkip extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

export function resolveFileHashLists(drafts: readonly Draft[], opts: FileHashListOptions): { kept: Draft[]; skipped: Skip[] } {
  const cache = new Map<string, ReadonlySet<string> | ListSkip>();
  const max = opts.maxHashes ?? MAX_FILE_HASHES;
  const load = (path: string, p: FileHashParsed): ReadonlySet<string> => {
    const key = `${p.algo}\u0000${path}`;
    let got = cache.get(key);
    if (got === undefined) {
      got = readList(path, p, opts.read, max);
      cache.set(key, got);
    }
    if (got instanceof ListSkip) throw got;
    return got;
  };
  const kept: Draft[] = [];
  const skipped: Skip[] = [];
  for (const d of drafts) {
    const ks = d.sig.appKeywords;
    if (ks === undefined || !ks.some((k) => FILE_HASH_KEYWORDS[k.name] !== undefined)) {
      kept.push(d);
      continue;
    }
    try {
      // Suricata matches a file hash keyword on the files of every protocol with files: a rule not
      // restricted to the protocol whose files we hash (`alert tcp …`) would miss the others
      const header = d.sig.protocol ?? 'tcp';
      for (const k of ks) {
        if (FILE_HASH_KEYWORDS[k.name] !== undefined && header !== k.protocol) throw new ListSkip('file hash keyword outside an smtp rule', `${k.name} in an "${header}" rule: only SMTP files are hashed`);
      }
      const base = dirname(d.sig.source.file);
      d.sig.appKeywords = ks.map((k) => {
        if (FILE_HASH_KEYWORDS[k.name] === undefined) return k;
        const p = k.value as FileHashParsed;
        const path = isAbsolute(p.file) ? p.file : join(base, p.file);
        return { ...k, value: { ...p, hashes: load(path, p) } };
      });
      kept.push(d);
    } catch (e) {
      if (!(e instanceof ListSkip)) throw e;
      // a to_client twin shares its rule's fate and is not a rule of its own
      if (d.twin === true) continue;
      const src = d.sig.source;
      skipped.push({ file: src.file, line: src.line, reason: e.reason, message: `${src.file}:${src.line}: ${e.message}` });
    }
  }
  return { kept, skipped };
}

function readList(path: string, p: FileHashParsed, read: FileHashListOptions['read'], max: number): ReadonlySet<string> | ListSkip {
  if (read === undefined) return new ListSkip('file hash list unreadable', `${path}: file hash lists cannot be read here`);
  let text: string | null;
  try {
    text = read(path);
  } catch (e) {
    return new ListSkip('file hash list unreadable', `${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (text === null) return new ListSkip('file hash list unreadable', `${path}: no such file`);
  const r = parseFileHashList(text, p.algo, max);
  if ('line' in r) return new ListSkip('file hash list invalid', `${path}:${r.line}: ${r.message}`);
  return r.hashes;
}
