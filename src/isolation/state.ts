/** State files in the state dir, written atomically (temp file, fsync, rename). */
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BulwarkError } from '../errors.js';
import { emptyDeviceFile, validateDeviceFile } from './exclusions.js';
import type { DeviceExclusionFile, IsolationState } from './types.js';

export const STATE_FILE = 'isolation.json';
export const DEVICE_FILE = 'isolation-exclusions.json';

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o750 });
    const fh = await open(tmp, 'w', 0o640);
    try {
      await fh.writeFile(JSON.stringify(value, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new BulwarkError('BULWARK_ERR_STATE', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BulwarkError('BULWARK_ERR_STATE', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_STATE', `${path} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

function isState(v: unknown): v is IsolationState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return s.version === 1 && typeof s.active === 'boolean' && typeof s.endsAtMs === 'number' && typeof s.startedAtMs === 'number' && (s.mode === 'manual' || s.mode === 'automatic');
}

export async function readState(stateDir: string): Promise<IsolationState | undefined> {
  const path = join(stateDir, STATE_FILE);
  const v = await readJson(path);
  if (v === undefined) return undefined;
  if (!isState(v)) throw new BulwarkError('BULWARK_ERR_STATE', `${path}: not an isolation state file`);
  if (typeof v.managementAddresses !== 'object') v.managementAddresses = {};
  return v;
}

export function writeState(stateDir: string, s: IsolationState): Promise<void> {
  return writeJsonAtomic(join(stateDir, STATE_FILE), s);
}

export async function readDeviceFile(stateDir: string): Promise<DeviceExclusionFile> {
  const path = join(stateDir, DEVICE_FILE);
  const v = await readJson(path);
  if (v === undefined) return emptyDeviceFile();
  try {
    return validateDeviceFile(v);
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_STATE', `${path}: ${(e as Error).message}`, { cause: e });
  }
}

export function writeDeviceFile(stateDir: string, f: DeviceExclusionFile): Promise<void> {
  return writeJsonAtomic(join(stateDir, DEVICE_FILE), f);
}
