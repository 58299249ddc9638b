/**
 * Writes the engine's datasets to their `save`/`state` files (Suricata's DatasetsSave), on a
 * ruleset swap and when protection stops. Each file is written atomically: a temporary file in
 * the same directory, fsync, rename over the old one, so a crash leaves the old or the new
 * content, never half of one. Bounded: at most databases.datasets.maxSets files (the compiler's
 * bound), each no bigger than its set's memcap allows. A failure is logged and counted per file;
 * the other files are still written.
 */
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../log/index.js';
import type { DatasetSnapshot } from '../signatures/keywords/dataset-store.js';

export interface DatasetSaveResult {
  written: number;
  failed: number;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o640);
  try {
    await fh.writeFile(text, 'latin1');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

export async function saveDatasets(snaps: readonly DatasetSnapshot[], log: Logger): Promise<DatasetSaveResult> {
  const r: DatasetSaveResult = { written: 0, failed: 0 };
  for (const s of snaps) {
    try {
      await writeAtomic(s.path, s.text);
      r.written++;
    } catch (e) {
      r.failed++;
      log.warn({ dataset: s.name, path: s.path, err: (e as NodeJS.ErrnoException).code ?? String(e) }, 'dataset save failed (the file keeps its previous content)');
    }
  }
  if (r.written > 0) log.debug({ written: r.written }, 'datasets saved');
  return r;
}
