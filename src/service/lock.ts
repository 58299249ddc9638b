/**
 * One daemon per state directory: a lock file created with O_EXCL holding the owner's pid.
 * A lock whose pid is dead (or is not a bulwark process) is stale and taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BulwarkError } from '../errors.js';

export const LOCK_FILE = 'bulwark.lock';

/** Default liveness probe: the pid exists and its command line mentions bulwark (pids are reused). */
export function isBulwarkProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('bulwark');
  } catch {
    return true; // cannot tell: assume it is alive rather than run two daemons
  }
}

export interface Lock {
  path: string;
  release(): Promise<void>;
}

export async function acquireLock(stateDir: string, isAlive: (pid: number) => boolean = isBulwarkProcess): Promise<Lock> {
  const path = join(stateDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      return {
        path,
        async release() {
          try {
            const owner = Number((await readFile(path, 'utf8')).trim());
            if (owner === process.pid) await unlink(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new BulwarkError('BULWARK_ERR_STATE', `lock ${path}: ${(e as Error).message}`, { cause: e });
      }
    }
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch {
      continue; // removed meanwhile: retry
    }
    const pid = Number(text.trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new BulwarkError('BULWARK_ERR_LOCKED', `another bulwark daemon (pid ${pid}) is running (lock ${path})`, { details: { pid, lock: path } });
    }
    if (pid === process.pid) {
      throw new BulwarkError('BULWARK_ERR_LOCKED', `another bulwark daemon (pid ${pid}) is running (lock ${path}; this process already holds it)`, { details: { pid, lock: path } });
    }
    try {
      await unlink(path); // stale: its owner is gone
    } catch {
      // someone else removed it: retry
    }
  }
  throw new BulwarkError('BULWARK_ERR_LOCKED', `lock ${path}: could not acquire (contended)`);
}
