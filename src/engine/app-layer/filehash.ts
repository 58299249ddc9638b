/**
 * Suricata's file hash keywords `filemd5`, `filesha1`, `filesha256` (detect-filemd5.c,
 * detect-file-hash-common.c): the value names a file of hex hashes (`!` before it negates); the
 * rule matches a transaction's file once the file is complete (state CLOSED) and its hash is in
 * the list (negated: not in the list). A protocol offers them with `fileHashKeywords`, telling
 * which of its tx's files are closed and their digests; its parser computes the digests only
 * when the ruleset has such rules (AppParserContext.fileHashes), as Suricata computes a file's
 * hashes only when a rule needs them.
 *
 * The list file is read at compile time (src/signatures/filehash-lists.ts), relative to the
 * rules file's directory: the parsed value below has `hashes` null until then.
 */
import { createHash, type Hash } from 'node:crypto';
import type { AppDirection, AppKeywordSpec, AppTx } from './types.js';

export type FileHashAlgo = 'md5' | 'sha1' | 'sha256';

/** Keyword name → algorithm. */
export const FILE_HASH_KEYWORDS: Readonly<Record<string, FileHashAlgo>> = { filemd5: 'md5', filesha1: 'sha1', filesha256: 'sha256' };

/** Hex digits of one hash of each algorithm. */
export const FILE_HASH_HEX: Readonly<Record<FileHashAlgo, number>> = { md5: 32, sha1: 40, sha256: 64 };

/** What a file hash keyword parses to (plain data: it travels in the compiled ruleset). */
export interface FileHashParsed {
  algo: FileHashAlgo;
  negated: boolean;
  /** The list file as the rule names it. */
  file: string;
  /** Lowercase hex hashes of the list, filled at compile time; null before. */
  hashes: ReadonlySet<string> | null;
}

/** A file of a tx as the hash keywords see it. */
export interface HashedFile {
  readonly closed: boolean;
  /** Lowercase hex digests computed when the file closed (absent: not computed). */
  readonly digests?: Readonly<Partial<Record<FileHashAlgo, string>>>;
}

/** `filemd5:[!]FILE` → parsed; Suricata refuses an empty name. */
export function parseFileHashValue(algo: FileHashAlgo, value: string | null): FileHashParsed {
  let v = (value ?? '').trim();
  if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).trim();
  let negated = false;
  if (v.startsWith('!')) {
    negated = true;
    v = v.slice(1).trim();
  }
  if (v === '') throw new Error(`file${algo} needs a file of hashes`);
  return { algo, negated, file: v, hashes: null };
}

/**
 * Parses a hash list file as Suricata's DetectFileHashParse: lines starting with a newline,
 * space, tab or `#` are skipped; one trailing newline byte is removed, a line is cut to 64
 * characters, and what remains must be exactly the algorithm's hex length (else the rule is
 * invalid). Returns the lowercase hashes or an error naming the line.
 */
export function parseFileHashList(text: string, algo: FileHashAlgo, maxHashes: number): { hashes: Set<string> } | { line: number; message: string } {
  const want = FILE_HASH_HEX[algo];
  const hashes = new Set<string>();
  // fgets splits after each \n; the \n stays on the line
  const lines = text.split(/(?<=\n)/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    const c = line[0];
    if (c === undefined || c === '\n' || c === '\r' || c === ' ' || c === '#' || c === '\t') continue;
    if (line.endsWith('\n') || line.endsWith('\r')) line = line.slice(0, -1);
    if (line.length > 64) line = line.slice(0, 64);
    if (line.length !== want) return { line: i + 1, message: `hash string not ${want} characters` };
    if (!/^[0-9a-fA-F]+$/.test(line)) return { line: i + 1, message: 'hash string is not hex' };
    if (hashes.size >= maxHashes) return { line: i + 1, message: `more than ${maxHashes} hashes` };
    hashes.add(line.toLowerCase());
  }
  return { hashes };
}

/** The keyword specs of a protocol whose txs have files (`files(tx)`; [] for other txs). */
export function fileHashKeywords(files: (tx: AppTx) => readonly HashedFile[], directions: readonly AppDirection[]): AppKeywordSpec[] {
  return Object.entries(FILE_HASH_KEYWORDS).map(([name, algo]): AppKeywordSpec<FileHashParsed> => ({
    name,
    aliases: [],
    directions,
    parse: (value) => parseFileHashValue(algo, value),
    match: (tx, _dir, p) => matchFileHash(files(tx), p),
  }));
}

/** Some closed file whose digest is (negated: is not) in the list; never before the list is loaded. */
export function matchFileHash(files: readonly HashedFile[], p: FileHashParsed): boolean {
  if (p.hashes === null) return false;
  for (const f of files) {
    if (!f.closed) continue;
    const d = f.digests?.[p.algo];
    if (d === undefined) continue;
    if (p.hashes.has(d) !== p.negated) return true;
  }
  return false;
}

/** Incremental digests of one file for the algorithms a ruleset needs. */
export class FileHasher {
  private readonly hs: [FileHashAlgo, Hash][];

  constructor(algos: readonly FileHashAlgo[]) {
    this.hs = algos.map((a) => [a, createHash(a)]);
  }

  update(d: Uint8Array): void {
    for (const [, h] of this.hs) h.update(d);
  }

  /** The lowercase hex digests; the hasher is spent. */
  finish(): Partial<Record<FileHashAlgo, string>> {
    const out: Partial<Record<FileHashAlgo, string>> = {};
    for (const [a, h] of this.hs) out[a] = h.digest('hex');
    return out;
  }
}
