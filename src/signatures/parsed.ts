/** Intermediate forms between the parsers (yaml.ts, rules.ts) and the compiler. */
import type { DatabaseInfo, DetectorSpec, Signature } from './types.js';
import type { PortSpec } from './ports.js';

/** A parsed signature whose ports still wait for the any-port set. */
export interface Draft {
  sig: Omit<Signature, 'ports' | 'fastPatternIndex'>;
  portSpec: PortSpec;
  /** `fast_pattern:only` etc. are recorded on the content itself; nothing else here yet. */
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
