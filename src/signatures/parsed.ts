/** Intermediate forms between the parsers (yaml.ts, rules.ts) and the compiler. */
import type { DatabaseInfo, DetectorSpec, Signature } from './types.js';
import type { PortSpec } from './ports.js';

/** A parsed signature whose ports still wait for the any-port set. */
export interface Draft {
  sig: Omit<Signature, 'ports' | 'fastPatternIndex'>;
  portSpec: PortSpec;
  /** Imported rules: the option keywords the rule carries, enforced or parsed and ignored (`db info`). */
  keywords?: { enforced: string[]; ignored: string[] };
  /**
   * The rule's header reads the same both ways (`any any -> any any`) and nothing fixes a
   * direction: like Suricata it matches packets of both directions, so the parser adds a
   * to_client twin of the to_server signature.
   */
  bothDirections?: true;
  /** The to_client twin of a `bothDirections` rule (same sid; not counted as a rule of its own). */
  twin?: true;
}

export interface Skip {
  file: string;
  line: number;
  /** Stable, bounded reason used as the key of CompileStats.skipped. */
  reason: string;
  /** Longer message for logs (may contain the value that was refused). */
  message: string;
}

export interface ParsedSource {
  file: string;
  database?: DatabaseInfo;
  drafts: Draft[];
  detectors: DetectorSpec[];
  skipped: Skip[];
}
