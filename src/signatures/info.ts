/** The `db info` summary of a ruleset, shared by the CLI (offline) and the daemon (db.info). */
import type { Ruleset } from './types.js';
import { formatRanges, normalizeRanges } from './ports.js';

export interface RulesetInfo {
  version: string;
  databases: { name: string; version: string; released: string; file: string }[];
  signatures: number;
  detectors: { id: number; kind: string; name: string }[];
  /** Watched server ports, compact ("21,23,80-81,…"). */
  ports: string;
  portCount: number;
  groups: number;
  mergedGroups: boolean;
  loaded: number;
  skipped: Record<string, number>;
  skippedTotal: number;
  compileMs: number;
  memoryBytes: number;
  states: number;
  /** The first skipped rules with file:line (bounded). */
  problems: { file: string; line: number; reason: string; message: string }[];
  /** Loaded imported rules per option keyword: enforced, or parsed and ignored (only `tag`). */
  keywords: { enforced: Record<string, number>; ignored: Record<string, number> };
}

export function rulesetInfo(r: Ruleset, maxProblems = 20): RulesetInfo {
  return {
    version: r.version,
    databases: r.databases.map((d) => ({ name: d.name, version: d.version, released: d.released, file: d.file })),
    signatures: r.signatures.length,
    detectors: r.detectors.map((d) => ({ id: d.id, kind: d.kind, name: d.name })),
    ports: formatRanges(normalizeRanges(r.ports.map((p) => ({ from: p, to: p })))),
    portCount: r.ports.length,
    groups: r.groups.length,
    mergedGroups: r.stats.mergedGroups ?? false,
    loaded: r.stats.loaded,
    skipped: { ...r.stats.skipped },
    skippedTotal: Object.values(r.stats.skipped).reduce((a, b) => a + b, 0),
    compileMs: r.stats.compileMs,
    memoryBytes: r.stats.memoryBytes,
    states: r.stats.states ?? 0,
    problems: (r.stats.problems ?? []).slice(0, maxProblems),
    keywords: { enforced: { ...(r.stats.keywords?.enforced ?? {}) }, ignored: { ...(r.stats.keywords?.ignored ?? {}) } },
  };
}
