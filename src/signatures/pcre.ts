/**
 * Suricata's `pcre:"/regex/modifiers"` keyword, compiled by the product's regex engine (PCRE2,
 * src/regex): the regex text goes to PCRE2 as it is, so every PCRE construct Suricata accepts
 * is accepted here too. The modifiers map as Suricata maps them (detect-pcre.c); see the table
 * in docs/signatures.md "pcre":
 *
 *   i s m x  → CASELESS DOTALL MULTILINE EXTENDED      A → ANCHORED
 *   E → DOLLAR_ENDONLY      G → UNGREEDY               R → relative to the detection pointer
 *   O → the configured override limits (engine.regex.overrideMatchLimit/overrideDepthLimit)
 *   B → rawbytes: accepted (the raw stream is what is inspected); refused with a buffer modifier
 *   U V W Z H I D M C K P Q Y S → an HTTP buffer (parsed into `buffer`, refused for now)
 *
 * Like Suricata, plain groups are compiled non-capturing (PCRE2_NO_AUTO_CAPTURE) unless a
 * backreference needs them.
 */
import { compileRegex, regexProblem, type Regex } from '../regex/regex.js';

/** The rule cannot be loaded by this version (skipped with this reason). */
export class PcreUnsupported extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** The pcre keyword is malformed, or PCRE2 refuses the regex (Suricata fails such a rule too). */
export class PcreInvalid extends Error {}

/** The buffers Suricata selects with a pcre modifier (detect-pcre.c; K is Snort's raw cookie). */
export const PCRE_BUFFER_FLAGS = {
  U: 'http.uri',
  I: 'http.uri.raw',
  V: 'http.user_agent',
  W: 'http.host',
  Z: 'http.host.raw',
  H: 'http.header',
  D: 'http.header.raw',
  M: 'http.method',
  C: 'http.cookie',
  K: 'http.cookie.raw',
  P: 'http.request_body',
  Q: 'file.data',
  Y: 'http.stat_msg',
  S: 'http.stat_code',
} as const;
export type PcreBufferFlag = keyof typeof PCRE_BUFFER_FLAGS;

/** A parsed `pcre:` value (before compilation). */
export interface PcreSpec {
  /** The regex text between the delimiters, passed to PCRE2 unchanged. */
  pattern: string;
  caseless: boolean;
  dotall: boolean;
  multiline: boolean;
  extended: boolean;
  anchored: boolean;
  dollarEndOnly: boolean;
  ungreedy: boolean;
  /** R */
  relative: boolean;
  /** B */
  rawbytes: boolean;
  /** O */
  overrideLimits: boolean;
  /** The buffer modifier, when one was given (its Suricata buffer: PCRE_BUFFER_FLAGS[buffer]). */
  buffer?: PcreBufferFlag;
}

export interface CompiledPcre {
  regex: Regex;
  relative: boolean;
  overrideLimits: boolean;
}

/** Splits `/body/flags`: the body runs to the last '/', the flags follow it. */
export function splitPcre(spec: string): { body: string; flags: string } {
  if (spec.length < 2 || spec[0] !== '/') throw new PcreInvalid('pcre: expected /regex/modifiers');
  const end = spec.lastIndexOf('/');
  if (end <= 0) throw new PcreInvalid('pcre: unterminated /regex/');
  return { body: spec.slice(1, end), flags: spec.slice(end + 1) };
}

/** Parses `/regex/modifiers` (without a leading '!', which the caller handles). */
export function parsePcre(spec: string): PcreSpec {
  const { body, flags } = splitPcre(spec);
  const out: PcreSpec = {
    pattern: body,
    caseless: false,
    dotall: false,
    multiline: false,
    extended: false,
    anchored: false,
    dollarEndOnly: false,
    ungreedy: false,
    relative: false,
    rawbytes: false,
    overrideLimits: false,
  };
  for (const f of flags) {
    switch (f) {
      case 'i':
        out.caseless = true;
        break;
      case 's':
        out.dotall = true;
        break;
      case 'm':
        out.multiline = true;
        break;
      case 'x':
        out.extended = true;
        break;
      case 'A':
        out.anchored = true;
        break;
      case 'E':
        out.dollarEndOnly = true;
        break;
      case 'G':
        out.ungreedy = true;
        break;
      case 'R':
        out.relative = true;
        break;
      case 'O':
        out.overrideLimits = true;
        break;
      case 'B':
        if (out.buffer !== undefined) throw new PcreInvalid(`pcre: modifier B is inconsistent with buffer modifier ${out.buffer}`);
        out.rawbytes = true;
        break;
      default: {
        if (!(f in PCRE_BUFFER_FLAGS)) throw new PcreInvalid(`pcre: unknown modifier "${f}"`);
        const b = f as PcreBufferFlag;
        if (out.buffer !== undefined) throw new PcreInvalid('pcre: only one buffer modifier is allowed');
        // Suricata refuses B with every buffer but the raw ones it has no "decoded" form of.
        if (out.rawbytes && b !== 'D' && b !== 'P' && b !== 'Q' && b !== 'Y' && b !== 'S') throw new PcreInvalid(`pcre: modifier ${b} is inconsistent with B`);
        out.buffer = b;
      }
    }
  }
  return out;
}

/** Compiles a parsed spec with the regex engine. Throws PcreInvalid with PCRE2's message and offset. */
export function compilePcreSpec(p: PcreSpec, autoCapture = false): CompiledPcre {
  let regex: Regex;
  try {
    regex = compileRegex(p.pattern, {
      caseless: p.caseless,
      dotall: p.dotall,
      multiline: p.multiline,
      extended: p.extended,
      anchored: p.anchored,
      dollarEndOnly: p.dollarEndOnly,
      ungreedy: p.ungreedy,
      // Suricata keeps plain groups capturing when the value lists capture names for them
      noAutoCapture: !autoCapture,
    });
  } catch (e) {
    const problem = regexProblem(e);
    if (problem === undefined) throw e;
    throw new PcreInvalid(`pcre: ${problem.message} at offset ${problem.offset} of /${p.pattern}/`);
  }
  return { regex, relative: p.relative, overrideLimits: p.overrideLimits };
}

/**
 * Parses and compiles a `pcre:` value for the raw payload stream. A buffer modifier is refused
 * with its buffer named (the HTTP buffers are not inspected yet).
 */
export function compilePcre(spec: string): CompiledPcre {
  const p = parsePcre(spec);
  if (p.buffer !== undefined) throw new PcreUnsupported(`pcre: buffer modifier /${p.buffer} (${PCRE_BUFFER_FLAGS[p.buffer]})`);
  return compilePcreSpec(p);
}

/** Where a pcre capture goes (Suricata VAR_TYPE_PKT_VAR / FLOW_VAR / ALERT_VAR). */
export interface PcreCapture {
  type: 'pkt' | 'flow' | 'alert';
  name: string;
}

/** Suricata's DETECT_PCRE_CAPTURE_MAX: at most 8 captures per pcre. */
export const PCRE_CAPTURE_MAX = 8;

/**
 * Splits Suricata's capture list off a pcre value (`/re/flags, alert:a, flow:b, pkt:c`): it starts
 * at the first `flow:`, `pkt:` or `alert:` of the value that separators (`,` or space) precede;
 * without separators the text is part of the regex (DetectPcreParse).
 */
export function splitPcreCaptures(value: string): { spec: string; names: string } {
  const at = ['flow:', 'pkt:', 'alert:'].map((k) => value.indexOf(k)).filter((i) => i >= 0);
  if (at.length === 0) return { spec: value, names: '' };
  const cut = Math.min(...at);
  let end = cut;
  while (end > 0 && (value[end - 1] === ',' || value[end - 1] === ' ')) end--;
  if (end === cut || end === 0) return { spec: value, names: '' };
  return { spec: value.slice(0, end), names: value.slice(cut) };
}

/**
 * The captures of a pcre (DetectPcreParseCapture): first the listed names in order (`alert:x`,
 * `flow:y`, `pkt:z`; no more than the regex has groups), then every named group
 * `(?P<pkt_x>…)`, `(?P<flow_x>…)`, `(?P<alert_x>…)` in the pattern (other prefixes are plain
 * groups). Capture i takes group i + 1, as in Suricata. Throws PcreInvalid where Suricata refuses.
 */
export function parsePcreCaptures(pattern: string, names: string, groups: number): PcreCapture[] {
  const out: PcreCapture[] = [];
  const listed = names.split(/[ ,]+/).filter((n) => n !== '');
  if (listed.length > groups) throw new PcreInvalid('pcre: more pkt/flow/alert capture names than capturing groups');
  for (const n of listed) {
    const m = /^(pkt|flow|alert):(.+)$/.exec(n);
    if (!m) throw new PcreInvalid(`pcre: capture name "${n}" must start with pkt:, flow: or alert:`);
    out.push({ type: m[1] as PcreCapture['type'], name: m[2]! });
  }
  for (const m of pattern.matchAll(/\(\?P<([A-Za-z]+)_([A-Za-z0-9_]+)>/g)) {
    const type = m[1]!;
    if (type !== 'pkt' && type !== 'flow' && type !== 'alert') continue;
    if (out.length >= PCRE_CAPTURE_MAX) throw new PcreInvalid(`pcre: more than ${PCRE_CAPTURE_MAX} pkt/flow/alert captures`);
    out.push({ type, name: m[2]! });
  }
  return out;
}
