/** Intermediate forms between the parsers (yaml.ts, rules.ts) and the compiler. */
import type { AppKeywordMatch, Condition, DatabaseInfo, DetectorSpec, FlowbitOp, Signature, Transform, UintMatch } from './types.js';
import type { PortSpec } from './ports.js';
import type { AppDirection } from '../engine/app-layer/types.js';
import type { RuleVars } from './keywords/bytes.js';
import type { FlowintSpec } from './keywords/flowint.js';
import type { XbitSpec } from './keywords/xbits.js';
import type { StreamSizeSpec } from './keywords/stream-size.js';
import type { CsumSpec } from './keywords/csum.js';
import type { EventMatch } from './keywords/events.js';
import type { DatasetSpec } from './keywords/dataset.js';

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

// Between the rule header parser (rules.ts) and the option parser (rule-options.ts).

/** A buffer list being built, before its key is final (transforms come right after the sticky keyword). */
export interface ListDraft {
  protocol: string;
  buffer: string;
  multi: boolean;
  lowercaseOnly: boolean;
  directions: readonly AppDirection[];
  transforms: Transform[];
  conditions: Condition[];
  bsize?: UintMatch;
  datasets?: DatasetSpec[];
  absent?: 'only' | 'or_else';
  /** `=>` rules: the direction the sticky keyword named (`file.data: to_client`). */
  txDir?: AppDirection;
}

/** What the header decided before the options (the options may change `stream` and `app`). */
export interface OptionsStart {
  stream: 'only' | 'no' | undefined;
  app: string | undefined;
  ruleProtocol: string;
  txRule: boolean;
  /** The rules file (relative dataset files live beside it). */
  file: string;
  datasetDir: string | undefined;
}

/** The rule as its options left it. */
export interface ParsedOptions {
  stream: 'only' | 'no' | undefined;
  app: string | undefined;
  conditions: Condition[];
  lists: ListDraft[];
  appKeywords: AppKeywordMatch[];
  appEvents: string[];
  flowbits: FlowbitOp[];
  references: string[];
  eveReferences: string[];
  metadata: [string, string][];
  msg: string;
  sid: number | undefined;
  gid: number;
  rev: number;
  classtype: string;
  priority: number | undefined;
  metaSeverity: string | undefined;
  dir: 'to_server' | 'to_client' | undefined;
  established: boolean | undefined;
  flowDirWritten: boolean;
  dsize: Signature['dsize'];
  flags: Signature['flags'];
  csum: CsumSpec[];
  rateFilter: Signature['rateFilter'];
  appLayerProtocol: Signature['appLayerProtocol'];
  vars: RuleVars;
  flowints: FlowintSpec[];
  xbits: XbitSpec[];
  streamSize: StreamSizeSpec[];
  events: EventMatch[];
  targetSide: 'src_ip' | 'dest_ip' | undefined;
  frameType: string | undefined;
}
