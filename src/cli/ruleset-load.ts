/**
 * The ruleset of `bulwark scan` and `bulwark policy`: the --rules files alone, or the configured
 * databases plus them. Its own module so the scan's compile worker (scan-compile-worker.ts) runs
 * it without loading the CLI.
 */
import { readFile } from 'node:fs/promises';
import { BulwarkError } from '../errors.js';
import { withDatasetDir, type Config } from '../config/types.js';
import { compileRuleset, type DatabaseSource } from '../signatures/compile.js';
import { datasetCompileOptions, loadDatabases } from '../signatures/load.js';
import type { Ruleset } from '../signatures/types.js';
import { installedExtraSources } from '../rules/installed.js';

/**
 * Port `any` when reading a capture file: every port, as Suricata inspects every port of a pcap
 * (live, `any` keeps meaning databases.anyPorts / the rules' ports, which the capture filter is
 * built from).
 */
const EVERY_PORT: readonly number[] = Array.from({ length: 65535 }, (_, i) => i + 1);

/**
 * The ruleset of the configuration, or of --databases / --rules (shared with `bulwark policy`).
 * `everyPort`: port `any` is every port (`bulwark scan`).
 */
export async function loadRuleset(cfg: Config, databases: string | undefined, rulesFiles: string[], progress?: (done: number, total: number) => void, everyPort = false, inboundOnly = false): Promise<Ruleset> {
  if (everyPort) cfg = { ...cfg, databases: { ...cfg.databases, anyPorts: [...EVERY_PORT] } };
  if (databases === undefined && rulesFiles.length > 0) {
    const sources: DatabaseSource[] = [];
    for (const f of rulesFiles) {
      try {
        sources.push({ file: f, text: await readFile(f, 'utf8') });
      } catch (e) {
        throw new BulwarkError('BULWARK_ERR_DATABASE', `${f}:0: cannot read rules file`, { cause: e, details: { file: f, line: 0 } });
      }
    }
    // Offline, a rules-only scan whose rules name no port inspects every port (Suricata's `any`),
    // and (scan only) loads the rules about outbound connections: Suricata reading a capture
    // inspects every connection in it, whichever side opened it. With databases, scan shows what
    // the daemon would detect, so it keeps the daemon's inbound-only choice.
    return compileRuleset(sources, { vars: cfg.databases.vars, anyPorts: cfg.databases.anyPorts, anyIsAllWhenUnnamed: true, outboundRules: everyPort && !inboundOnly, datasets: datasetCompileOptions(withDatasetDir(cfg.databases, cfg.stateDir)), ...(progress ? { progress } : {}) });
  }
  const dbCfg: Config['databases'] = { ...withDatasetDir(cfg.databases, cfg.stateDir), rules: [...cfg.databases.rules, ...rulesFiles] };
  if (databases !== undefined) dbCfg.dir = databases;
  // With the configured databases, the rules `bulwark rules update` installed count too (as in the daemon).
  const extraSources = databases === undefined ? await installedExtraSources(cfg) : [];
  const loaded = await loadDatabases(dbCfg, { skipManifest: databases !== undefined, extraSources, ...(progress ? { progress } : {}) });
  return loaded.ruleset;
}
