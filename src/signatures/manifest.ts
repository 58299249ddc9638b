/**
 * Integrity manifest of a database directory: MANIFEST.json lists the database version and the
 * sha256 of every file in the directory. The daemon refuses a directory whose manifest does not
 * match (keeping the previous good ruleset); `bulwark db verify` checks it; `npm run db:manifest`
 * regenerates it.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BulwarkError } from '../errors.js';

export const MANIFEST_FILE = 'MANIFEST.json';

export interface Manifest {
  /** Format version of this file. */
  manifest: 1;
  /** Database name and version (from the YAML databases in the directory). */
  database: string;
  version: string;
  /** File name → lower-case hex sha256. */
  files: Record<string, string>;
}

export interface ManifestCheck {
  ok: boolean;
  manifest?: Manifest;
  /** One line per problem: "web.yaml: sha256 mismatch", "extra.rules: not in manifest"... */
  problems: string[];
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Regular files of the directory, sorted, the manifest itself and dotfiles excluded. */
export async function listDatabaseDir(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => n !== MANIFEST_FILE && !n.startsWith('.')).sort();
  const out: string[] = [];
  for (const n of names) if ((await stat(join(dir, n))).isFile()) out.push(n);
  return out;
}

function parseManifest(text: string, path: string): Manifest {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_INTEGRITY', `${path}: not valid JSON`, { cause: e });
  }
  const m = j as Partial<Manifest> | null;
  const files = m?.files;
  if (m?.manifest !== 1 || typeof m.database !== 'string' || typeof m.version !== 'string' || typeof files !== 'object') {
    throw new BulwarkError('BULWARK_ERR_INTEGRITY', `${path}: expected {"manifest":1,"database","version","files":{name:sha256}}`);
  }
  for (const [k, v] of Object.entries(files)) {
    if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw new BulwarkError('BULWARK_ERR_INTEGRITY', `${path}: bad sha256 for ${k}`);
  }
  return m as Manifest;
}

/** Checks the directory against its manifest (never throws for a mismatch: see `problems`). */
export async function checkManifest(dir: string): Promise<ManifestCheck> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return { ok: false, problems: [`${path}: missing (run npm run db:manifest)`] };
  }
  let manifest: Manifest;
  try {
    manifest = parseManifest(text, path);
  } catch (e) {
    return { ok: false, problems: [e instanceof Error ? e.message : String(e)] };
  }
  const problems: string[] = [];
  const present = await listDatabaseDir(dir);
  for (const name of present) {
    const want = manifest.files[name];
    if (want === undefined) {
      problems.push(`${join(dir, name)}: not in manifest`);
      continue;
    }
    const got = sha256(await readFile(join(dir, name)));
    if (got !== want) problems.push(`${join(dir, name)}: sha256 mismatch (manifest ${want.slice(0, 12)}…, file ${got.slice(0, 12)}…)`);
  }
  for (const name of Object.keys(manifest.files)) if (!present.includes(name)) problems.push(`${join(dir, name)}: listed in manifest but missing`);
  return { ok: problems.length === 0, manifest, problems };
}

/** Throws BULWARK_ERR_INTEGRITY with every problem when the manifest does not match. */
export async function assertManifest(dir: string): Promise<Manifest> {
  const r = await checkManifest(dir);
  if (!r.ok || !r.manifest) {
    throw new BulwarkError('BULWARK_ERR_INTEGRITY', `database manifest does not match: ${r.problems.join('; ')}`, { details: { dir, problems: r.problems } });
  }
  return r.manifest;
}

/** Builds the manifest for the directory's current files. */
export async function buildManifest(dir: string): Promise<Manifest> {
  const files: Record<string, string> = {};
  const names: string[] = [];
  const versions: string[] = [];
  for (const name of await listDatabaseDir(dir)) {
    const data = await readFile(join(dir, name));
    files[name] = sha256(data);
    if (/\.ya?ml$/.test(name)) {
      const text = data.toString('utf8');
      const n = /^database:\s*\n(?:[ \t]+.*\n)*?[ \t]+name:\s*["']?([^"'\n]+?)["']?\s*$/m.exec(text);
      const v = /^database:\s*\n(?:[ \t]+.*\n)*?[ \t]+version:\s*["']?([^"'\n]+?)["']?\s*$/m.exec(text);
      if (n?.[1] && !names.includes(n[1])) names.push(n[1]);
      if (v?.[1] && !versions.includes(v[1])) versions.push(v[1]);
    }
  }
  return { manifest: 1, database: names.join(', ') || 'unnamed', version: versions.sort().join(', ') || '0', files };
}

export async function writeManifest(dir: string): Promise<Manifest> {
  const m = await buildManifest(dir);
  await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(m, null, 2) + '\n');
  return m;
}
