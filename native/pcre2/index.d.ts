/** bulwark's binding to libpcre2-8; the product uses it through src/regex, not directly. */
export interface CompiledPattern {
  readonly handle: object;
  readonly captureCount: number;
  readonly jit: boolean;
  readonly names: [string, number][];
}
export interface CompileError extends Error {
  pcre2Code: number;
  offset: number;
}
export function compile(pattern: Uint8Array, options: number, jit: boolean): CompiledPattern;
export function setLimits(handle: object, matchLimit: number, depthLimit: number, heapLimitKiB: number): void;
export function match(handle: object, subject: Uint8Array, start: number, end: number, from: number, ovector: Int32Array, options: number): number;
export function lastError(): number;
export function errorMessage(code: number): string;
export function config(): { version: string; jit: boolean; jitTarget: string };
export const options: Record<'CASELESS' | 'MULTILINE' | 'DOTALL' | 'EXTENDED' | 'ANCHORED' | 'DOLLAR_ENDONLY' | 'UNGREEDY' | 'NO_AUTO_CAPTURE' | 'NEVER_UTF' | 'NEVER_UCP' | 'DUPNAMES' | 'ENDANCHORED' | 'NOTEMPTY' | 'NOTEMPTY_ATSTART' | 'NOTBOL' | 'NOTEOL', number>;
export const ERROR_BAD_SUBPATTERN_REFERENCE: number;
export const OVECTOR_PAIRS: number;
