/**
 * Loads the bulwark-pcre2 addon (native/pcre2, built by node-gyp at `npm ci`). Only src/regex
 * talks to it.
 */
import { createRequire } from 'node:module';
import { BulwarkError } from '../errors.js';

export interface NativeCompiled {
  readonly handle: object;
  readonly captureCount: number;
  readonly jit: boolean;
  readonly names: [string, number][];
}

export interface NativePcre2 {
  compile(pattern: Uint8Array, options: number, jit: boolean): NativeCompiled;
  setLimits(handle: object, matchLimit: number, depthLimit: number, heapLimitKiB: number): void;
  match(handle: object, subject: Uint8Array, start: number, end: number, from: number, ovector: Int32Array, options: number): number;
  lastError(): number;
  errorMessage(code: number): string;
  config(): { version: string; jit: boolean; jitTarget: string };
  readonly options: Readonly<Record<'CASELESS' | 'MULTILINE' | 'DOTALL' | 'EXTENDED' | 'ANCHORED' | 'DOLLAR_ENDONLY' | 'UNGREEDY' | 'NO_AUTO_CAPTURE' | 'NOTEMPTY' | 'NOTEMPTY_ATSTART' | 'NOTBOL' | 'NOTEOL', number>>;
  readonly ERROR_BAD_SUBPATTERN_REFERENCE: number;
  readonly OVECTOR_PAIRS: number;
}

const require = createRequire(import.meta.url);
let loaded: NativePcre2 | undefined;

export function pcre2(): NativePcre2 {
  if (loaded) return loaded;
  try {
    loaded = require('bulwark-pcre2') as NativePcre2;
  } catch (e) {
    throw new BulwarkError(
      'BULWARK_ERR_INTERNAL',
      `the PCRE2 addon (native/pcre2) is not built: install libpcre2-dev and run \`npm ci\` (or \`make build\`): ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  return loaded;
}
