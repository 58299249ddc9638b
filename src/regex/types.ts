/**
 * The contract of the product's one regex engine (PCRE2 through the bulwark-pcre2 addon).
 * Every regular expression run on attacker-controlled bytes goes through it: 8-bit, no UTF,
 * raw bytes, with a match limit on every match. Documented in docs/regex.md.
 */

/** Result of Regex.exec: >= 1 is a match (the number of capture pairs set, whole match first). */
export const REGEX_NOMATCH = -1;
/** A resource limit was hit (match limit, depth limit, heap limit or JIT stack): treated as no match, counted. */
export const REGEX_LIMIT = -2;
/** Another matching error (e.g. invalid UTF in a (*UTF) pattern): treated as no match, counted. */
export const REGEX_ERROR = -3;
/** Not run: the inspection budget of the packet was spent (RegexMeter only). */
export const REGEX_SKIPPED = -4;

/** Compile-time options (PCRE2 option bits by name). */
export interface RegexOptions {
  caseless?: boolean;
  multiline?: boolean;
  dotall?: boolean;
  extended?: boolean;
  /** Anchored at the start offset (Suricata `A`). */
  anchored?: boolean;
  /** `$` matches only at the very end (Suricata `E`). */
  dollarEndOnly?: boolean;
  /** Quantifiers lazy by default (Suricata `G`). */
  ungreedy?: boolean;
  /** Plain (...) groups do not capture (named groups still do): what Suricata compiles by default. */
  noAutoCapture?: boolean;
  /** JIT-compile when the library supports it (default true); the interpreter otherwise. */
  jit?: boolean;
}

/** Resource limits of one match (PCRE2 match context). */
export interface RegexLimits {
  /** pcre2_set_match_limit: backtracking steps (the JIT counts its own way). Suricata default 3500. */
  matchLimit: number;
  /** pcre2_set_depth_limit (Suricata's match-limit-recursion): interpreter only. Default 1500. */
  depthLimit: number;
  /** pcre2_set_heap_limit in KiB: interpreter only. */
  heapLimitKiB: number;
}

export const DEFAULT_LIMITS: Readonly<RegexLimits> = Object.freeze({ matchLimit: 3500, depthLimit: 1500, heapLimitKiB: 8192 });
