/**
 * compileRegex(pattern, options) → Regex: the product's one regex engine, PCRE2 (libpcre2-8) in
 * 8-bit non-UTF mode through the bulwark-pcre2 addon. Patterns have full PCRE syntax
 * (lookaround, backreferences, possessive quantifiers, atomic groups, inline options, \G,
 * recursion, conditionals); subjects are raw bytes read in place (no string conversion, no copy);
 * every match runs with a match limit. See docs/regex.md.
 */
import { BulwarkError } from '../errors.js';
import { pcre2, type NativePcre2 } from './native.js';
import { DEFAULT_LIMITS, REGEX_ERROR, REGEX_LIMIT, REGEX_NOMATCH, type RegexLimits, type RegexOptions } from './types.js';

/** Native codes of a limit hit (match, depth, heap, JIT stack), see native/pcre2/src/pcre2_binding.c. */
const NATIVE_LIMIT_MIN = -5;

/** An ovector for callers that only need the whole match (one pair). */
const SCRATCH = new Int32Array(2);

export class Regex {
  /** The pattern as given (for logs and messages). */
  readonly source: string;
  readonly captureCount: number;
  /** Whether the JIT compiled it (otherwise the interpreter runs it). */
  readonly jit: boolean;
  /** Named groups → group numbers. */
  readonly names: ReadonlyMap<string, number>;
  /** Limits applied when exec() is not given others. */
  readonly limits: Readonly<RegexLimits>;
  /**
   * What compileRegex was given (pattern as passed, options): enough to compile the same regex
   * again on another thread, where the native handle is not valid (src/signatures/codec.ts).
   */
  readonly spec: Readonly<RegexSpec>;
  /** The limits object whose values the native side holds. */
  private applied: Readonly<RegexLimits> | undefined;

  constructor(
    private readonly native: NativePcre2,
    /** The compiled pattern; null until the first exec of a lazy regex (lazyRegex). */
    private handle: object | null,
    source: string,
    captureCount: number,
    jit: boolean,
    names: [string, number][],
    limits: RegexLimits,
    spec?: RegexSpec,
  ) {
    this.source = source;
    this.spec = Object.freeze(spec ?? { pattern: source, options: {} });
    this.captureCount = captureCount;
    this.jit = jit;
    this.names = new Map(names);
    this.limits = Object.freeze({ ...limits });
  }

  /**
   * Searches subject[start, end) from `from` bytes into it (a retry after an earlier match starts
   * there; `^`, `\A` and lookbehind still see the subject from `start`). Returns the number of
   * capture pairs set (>= 1, whole match first, absolute offsets into `subject`, -1 for an unset
   * group; as many as fit in `ovector`), REGEX_NOMATCH, REGEX_LIMIT (a resource limit was hit: no
   * match) or REGEX_ERROR. `anchored` anchors the match at `from`.
   */
  exec(subject: Uint8Array, start: number, end: number, ovector: Int32Array = SCRATCH, from = 0, limits: Readonly<RegexLimits> = this.limits, anchored = false): number {
    const handle = this.handle ?? this.compileNow();
    // The native side keeps the limits of the last call: callers pass one of a few long-lived
    // limit objects, so this is an identity check per match, not three more native arguments.
    if (limits !== this.applied) {
      this.native.setLimits(handle, limits.matchLimit, limits.depthLimit, limits.heapLimitKiB);
      this.applied = limits;
    }
    const rc = this.native.match(handle, subject, start, end, from, ovector, anchored ? this.native.options.ANCHORED : 0);
    if (rc >= REGEX_NOMATCH) return rc;
    if (rc >= NATIVE_LIMIT_MIN) return REGEX_LIMIT;
    return REGEX_ERROR;
  }

  /** Convenience: whether subject[start, end) contains a match (limit hits and errors are false). */
  test(subject: Uint8Array, start = 0, end = subject.length): boolean {
    return this.exec(subject, start, end) > 0;
  }

  /** Whether the pattern is compiled on this thread yet (a lazy regex: after its first exec). */
  get compiled(): boolean {
    return this.handle !== null;
  }

  /**
   * A lazy regex's first exec: compiles the spec, which compiled before on the thread that
   * loaded the rules (same library, same options), so a failure here is a bug, not bad input.
   */
  private compileNow(): object {
    const r = compileRegex(this.spec.pattern, this.spec.options, this.limits);
    if (r.captureCount !== this.captureCount) throw new BulwarkError('BULWARK_ERR_INTERNAL', `regex: ${this.source} compiled with ${r.captureCount} groups, expected ${this.captureCount}`);
    this.handle = r.handle;
    return r.handle!;
  }

  /** The PCRE2 text of the last REGEX_ERROR on this thread. */
  lastErrorMessage(): string {
    return this.native.errorMessage(this.native.lastError());
  }
}

/** The arguments of compileRegex that made a Regex (limits are Regex.limits). */
export interface RegexSpec {
  pattern: string | Uint8Array;
  options: Readonly<RegexOptions>;
}

/** PCRE2's own message and the byte offset in the pattern where compilation failed. */
export interface RegexCompileProblem {
  message: string;
  offset: number;
  pcre2Code: number;
}

function optionBits(n: NativePcre2, o: RegexOptions): number {
  const b = n.options;
  let bits = 0;
  if (o.caseless === true) bits |= b.CASELESS;
  if (o.multiline === true) bits |= b.MULTILINE;
  if (o.dotall === true) bits |= b.DOTALL;
  if (o.extended === true) bits |= b.EXTENDED;
  if (o.anchored === true) bits |= b.ANCHORED;
  if (o.dollarEndOnly === true) bits |= b.DOLLAR_ENDONLY;
  if (o.ungreedy === true) bits |= b.UNGREEDY;
  if (o.noAutoCapture === true) bits |= b.NO_AUTO_CAPTURE;
  return bits >>> 0;
}

function problemOf(e: unknown): RegexCompileProblem | undefined {
  if (!(e instanceof Error)) return undefined;
  const x = e as Error & { pcre2Code?: unknown; offset?: unknown };
  if (typeof x.pcre2Code !== 'number' || typeof x.offset !== 'number') return undefined;
  return { message: e.message, offset: x.offset, pcre2Code: x.pcre2Code };
}

/**
 * Compiles `pattern` (a string is taken as its UTF-8 bytes, like a rules file read as bytes).
 * Throws BulwarkError BULWARK_ERR_REGEX with PCRE2's message and the offset; details carry
 * { offset, pcre2Code }.
 */
export function compileRegex(pattern: string | Uint8Array, options: RegexOptions = {}, limits: RegexLimits = DEFAULT_LIMITS): Regex {
  const n = pcre2();
  const bytes = typeof pattern === 'string' ? Buffer.from(pattern, 'utf8') : pattern;
  const source = typeof pattern === 'string' ? pattern : Buffer.from(pattern.buffer, pattern.byteOffset, pattern.byteLength).toString('latin1');
  let bits = optionBits(n, options);
  let compiled: ReturnType<NativePcre2['compile']> | undefined;
  let failure: unknown;
  try {
    compiled = n.compile(bytes, bits, options.jit ?? true);
  } catch (e) {
    failure = e;
  }
  // Suricata compiles with NO_AUTO_CAPTURE and, when a backreference needs a numbered group,
  // compiles again with capturing groups.
  if (compiled === undefined && options.noAutoCapture === true && problemOf(failure)?.pcre2Code === n.ERROR_BAD_SUBPATTERN_REFERENCE) {
    bits = (bits & ~n.options.NO_AUTO_CAPTURE) >>> 0;
    try {
      compiled = n.compile(bytes, bits, options.jit ?? true);
    } catch (e) {
      failure = e;
    }
  }
  if (compiled === undefined) {
    const p = problemOf(failure);
    if (p === undefined) throw new BulwarkError('BULWARK_ERR_INTERNAL', `regex: ${failure instanceof Error ? failure.message : String(failure)}`, { cause: failure });
    throw new BulwarkError('BULWARK_ERR_REGEX', `regex: ${p.message} at offset ${p.offset}`, { cause: failure, details: { offset: p.offset, pcre2Code: p.pcre2Code } });
  }
  return new Regex(n, compiled.handle, source, compiled.captureCount, compiled.jit, compiled.names, { ...limits }, { pattern, options: { ...options } });
}

/** What lazyRegex needs: compileRegex's arguments and what its compile found on the loading thread. */
export interface CompiledRegexData extends RegexSpec {
  limits: RegexLimits;
  captureCount: number;
  jit: boolean;
  names: [string, number][];
}

/**
 * A Regex compiled on first use (the rules' pcre in a `bulwark scan --workers` worker): a
 * ruleset's thousands of PCRE2 patterns and their JIT code cost tens of MB per thread, and a
 * scan runs few of them. The pattern compiled already on the thread that loaded the rules.
 */
export function lazyRegex(d: CompiledRegexData): Regex {
  const source = typeof d.pattern === 'string' ? d.pattern : Buffer.from(d.pattern.buffer, d.pattern.byteOffset, d.pattern.byteLength).toString('latin1');
  return new Regex(pcre2(), null, source, d.captureCount, d.jit, d.names, { ...d.limits }, { pattern: d.pattern, options: { ...d.options } });
}

/** Whether `e` is a compile error of compileRegex, and its PCRE2 problem. */
export function regexProblem(e: unknown): RegexCompileProblem | undefined {
  if (!(e instanceof BulwarkError) || e.code !== 'BULWARK_ERR_REGEX') return undefined;
  const d = e.details ?? {};
  const cause = problemOf(e.cause);
  return { message: cause?.message ?? e.message, offset: typeof d.offset === 'number' ? d.offset : 0, pcre2Code: typeof d.pcre2Code === 'number' ? d.pcre2Code : 0 };
}

/** The library the engine runs on (version, JIT support), for `status` and logs. */
export function regexEngineInfo(): { engine: 'pcre2'; version: string; jit: boolean; jitTarget: string } {
  const c = pcre2().config();
  return { engine: 'pcre2', version: c.version, jit: c.jit, jitTarget: c.jitTarget };
}

export { REGEX_NOMATCH, REGEX_LIMIT, REGEX_ERROR };
