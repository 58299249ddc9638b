/**
 * The live response policy of the protection component (docs/response.md): the compiled
 * `response.policy` (+ shipped defaults) and the threshold.config filter handed to the engine.
 * Both are rebuilt on every config reload; a bad policy or threshold file throws (the daemon then
 * keeps the old configuration for everybody) and the last good ones stay. Metrics: docs/metrics.md
 * "Response policy".
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../config/types.js';
import type { Detection } from '../engine/types.js';
import { ThresholdFilter } from '../engine/threshold/filter.js';
import { loadThresholdFile } from '../engine/threshold/load.js';
import type { ThresholdConfig } from '../engine/threshold/types.js';
import type { Logger } from '../log/index.js';
import { explain, type Explanation } from '../respond/policy/explain.js';
import { policyFromConfig, subjectOfDetection, type CompiledPolicy } from '../respond/policy/policy.js';
import type { PolicyDecision } from '../respond/policy/types.js';
import type { Ruleset } from '../signatures/types.js';

/** Sources and inputs of the current filter, to tell whether a reload changed anything. */
function filterInputs(c: Config): string {
  return JSON.stringify([c.response.thresholdFile, c.response.maxThresholdEntries, c.databases.vars]);
}

export class ResponsePolicy {
  private policy: CompiledPolicy;
  private current: ThresholdFilter;
  private inputs = '';
  private fileText = '';
  /** Filters replaced by reloads keep their counts in the metrics. */
  private retired = { filtered: { suppress: 0, threshold: 0, detection_filter: 0 }, actions: { alert: 0, drop: 0, reject: 0, pass: 0 }, evictions: 0 };
  private readonly mDecisions: Counter<'action' | 'rule'>;

  constructor(
    private cfg: Config,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.policy = policyFromConfig(cfg.response);
    this.current = new ThresholdFilter({ file: '', entries: [] }, { maxEntries: cfg.response.maxThresholdEntries });
    this.mDecisions = new Counter({
      name: 'bulwark_response_decisions_total',
      help: 'Response policy decisions per detection (before folding), by action (block, alert, ignore) and the policy rule that decided.',
      labelNames: ['action', 'rule'],
      registers: [registry],
    });
    const stats = (): ReturnType<ThresholdFilter['stats']> => this.current.stats();
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- collect callbacks read the live filter
    const self = this;
    new Counter({
      name: 'bulwark_alerts_filtered_total',
      help: 'Matches that did not alert because of threshold.config or the rule\'s own keyword, by reason (suppress, threshold, detection_filter).',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        const f = stats().filtered;
        for (const r of ['suppress', 'threshold', 'detection_filter'] as const) this.inc({ reason: r }, f[r] + self.retired.filtered[r]);
      },
    });
    new Counter({
      name: 'bulwark_rate_filter_actions_total',
      help: 'Matches whose action an active threshold.config rate_filter changed, by new_action.',
      labelNames: ['new_action'],
      registers: [registry],
      collect() {
        this.reset();
        const a = stats().rateFilterActions;
        for (const k of ['alert', 'drop', 'reject', 'pass'] as const) this.inc({ new_action: k }, a[k] + self.retired.actions[k]);
      },
    });
    new Gauge({
      name: 'bulwark_threshold_entries',
      help: 'Tracking entries held by the threshold table (bound: response.maxThresholdEntries).',
      registers: [registry],
      collect() {
        this.set(stats().entries);
      },
    });
    new Counter({
      name: 'bulwark_threshold_evictions_total',
      help: 'Threshold tracking entries evicted by the bound (their counting starts over).',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(stats().evictions + self.retired.evictions);
      },
    });
    new Gauge({
      name: 'bulwark_threshold_config_entries',
      help: 'Entries of the loaded threshold.config, by kind (suppress, threshold, rate_filter).',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        this.reset();
        const n = { suppress: 0, threshold: 0, rate_filter: 0 };
        for (const e of self.current.config.entries) n[e.kind]++;
        for (const [k, v] of Object.entries(n)) this.set({ kind: k }, v);
      },
    });
  }

  /** The filter the engine calls per match. */
  get filter(): ThresholdFilter {
    return this.current;
  }

  get thresholds(): ThresholdConfig {
    return this.current.config;
  }

  /** Reads the threshold file and compiles the policy of `cfg`; throws (and changes nothing) when either is bad. Returns true when the filter was replaced. */
  async load(cfg: Config): Promise<boolean> {
    const policy = policyFromConfig(cfg.response);
    const inputs = filterInputs(cfg);
    const thresholds = await loadThresholdFile(cfg.response.thresholdFile, cfg.databases.vars);
    // Same file, same content, same bounds: keep the filter (and its counting).
    const text = JSON.stringify(thresholds.entries.map((e) => ({ ...e, ip: e.kind === 'suppress' ? e.ip?.text : undefined })));
    const same = inputs === this.inputs && text === this.fileText;
    this.policy = policy;
    this.cfg = cfg;
    if (same) return false;
    const s = this.current.stats();
    for (const k of ['suppress', 'threshold', 'detection_filter'] as const) this.retired.filtered[k] += s.filtered[k];
    for (const k of ['alert', 'drop', 'reject', 'pass'] as const) this.retired.actions[k] += s.rateFilterActions[k];
    this.retired.evictions += s.evictions;
    this.current = new ThresholdFilter(thresholds, { maxEntries: cfg.response.maxThresholdEntries });
    this.inputs = inputs;
    this.fileText = text;
    if (cfg.response.thresholdFile !== '') {
      const n = { suppress: 0, threshold: 0, rate_filter: 0 };
      for (const e of thresholds.entries) n[e.kind]++;
      this.log.info({ file: cfg.response.thresholdFile, ...n }, 'threshold file loaded');
      for (const e of thresholds.entries) {
        if (e.kind === 'rate_filter' && (e.newAction === 'log' || e.newAction === 'sdrop')) {
          this.log.warn({ file: cfg.response.thresholdFile, line: e.line }, `rate_filter new_action ${e.newAction} changes nothing (as in Suricata)`);
        }
      }
    }
    return true;
  }

  /** Warns about threshold entries that name signatures the ruleset does not have (Suricata: "unknown rule"). */
  checkAgainst(r: Ruleset): void {
    if (this.current.config.entries.length === 0) return;
    const known = new Set<string>();
    for (const s of r.signatures) known.add(`${s.gid}:${s.id}`);
    for (const d of r.detectors) known.add(`1:${d.id}`);
    const unknown = this.current.config.entries.filter((e) => e.sid !== 0 && !known.has(`${e.gid}:${e.sid}`)).slice(0, 20);
    for (const e of unknown) this.log.warn({ file: this.current.config.file, line: e.line, gid: e.gid, sid: e.sid }, 'threshold entry names an unknown rule');
  }

  /** The decision for a detection: an active rate_filter's new_action, else the policy. Counted. */
  decide(d: Detection): PolicyDecision {
    const dec: PolicyDecision =
      d.newAction !== undefined
        ? { action: d.newAction.action, rule: 'rate_filter', reason: `rate_filter new_action at ${d.newAction.source}` }
        : this.policy.decide(subjectOfDetection(d));
    this.mDecisions.inc({ action: dec.action, rule: dec.rule });
    return dec;
  }

  /** The same decision again, uncounted (folded repeats reported later). */
  peek(d: Detection): PolicyDecision {
    if (d.newAction !== undefined) return { action: d.newAction.action, rule: 'rate_filter', reason: `rate_filter new_action at ${d.newAction.source}` };
    return this.policy.decide(subjectOfDetection(d));
  }

  explain(r: Ruleset, sid: number): Explanation | undefined {
    const s = r.signatures.find((x) => x.id === sid) ?? r.detectors.find((x) => x.id === sid);
    return s === undefined ? undefined : explain(this.policy, this.current, s);
  }

  status(): Record<string, unknown> {
    return {
      policyRules: this.policy.rules.length,
      defaultPolicy: this.cfg.response.defaultPolicy,
      thresholdFile: this.cfg.response.thresholdFile,
      thresholdEntries: this.current.config.entries.length,
      ...this.current.stats(),
    };
  }
}
