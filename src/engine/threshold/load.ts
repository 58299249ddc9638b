/** Reads a threshold.config file (the only I/O of src/engine/threshold): size-bounded, then parsed. */
import { readFile, stat } from 'node:fs/promises';
import { BulwarkError } from '../../errors.js';
import { NO_THRESHOLDS, parseThresholdConfig } from './parse.js';
import type { ThresholdConfig } from './types.js';

/** Files larger than this are refused. */
export const MAX_THRESHOLD_FILE_BYTES = 4 * 1024 * 1024;

/** `path` "" = no file (only the rules' own thresholds). Throws BULWARK_ERR_CONFIG with FILE:LINE. */
export async function loadThresholdFile(path: string, vars: Record<string, string>): Promise<ThresholdConfig> {
  if (path === '') return NO_THRESHOLDS;
  let text: string;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new BulwarkError('BULWARK_ERR_CONFIG', `threshold ${path}:0: not a regular file`, { details: { file: path, line: 0 } });
    if (st.size > MAX_THRESHOLD_FILE_BYTES) throw new BulwarkError('BULWARK_ERR_CONFIG', `threshold ${path}:0: larger than ${MAX_THRESHOLD_FILE_BYTES} bytes`, { details: { file: path, line: 0 } });
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof BulwarkError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new BulwarkError('BULWARK_ERR_CONFIG', `threshold ${path}:0: cannot read (${code})`, { cause: e, details: { file: path, line: 0 } });
  }
  return parseThresholdConfig(path, text, vars);
}
