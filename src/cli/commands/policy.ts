/**
 * `bulwark policy show|explain`: the response policy (docs/response.md). Offline by default: the
 * configuration's policy and threshold file applied to the configuration's databases (or
 * --databases / --rules); `explain --active` asks the running daemon instead.
 */
import { parseArgs, usageError } from '../args.js';
import { printJson, printKeyValues, printTable } from '../output.js';
import { EXIT, type CliCommand, type CliContext } from '../types.js';
import { defaultConfig, type Config } from '../../config/types.js';
import { isRecord } from '../../service/protocol.js';
import { ThresholdFilter } from '../../engine/threshold/filter.js';
import { loadThresholdFile } from '../../engine/threshold/load.js';
import { explain, summarize, type Explanation } from '../../respond/policy/explain.js';
import { etCategory, policyFromConfig, policyRules, subjectOfSignature } from '../../respond/policy/policy.js';
import type { PolicyMatch } from '../../respond/policy/types.js';
import { loadRuleset } from '../ruleset-load.js';

const USAGE = `Usage: bulwark policy show [--databases DIR] [--rules FILE.rules…] [--json]
       bulwark policy explain SID… [--active] [--databases DIR] [--rules FILE.rules…] [--json]

  show     the response policy in force (response.policy, then the shipped defaults unless
           response.defaultPolicy is false), and how many of the loaded signatures each rule
           decides: block, alert or ignore, per rule and per ET category.
  explain  for each signature id: what the policy looks at (ET category, classtype, priority,
           severity, metadata, origin, the rule's own action), the decision with the policy rule
           and the matched conditions, and the threshold.config entries that apply to it.
           --active asks the running daemon (its loaded ruleset and policy).

  --databases DIR / --rules FILE   as for \`bulwark scan\`: evaluate other rule files
                                   (with --rules and no --databases only those files)

Exit codes: 0 ok, 1 a signature id is not in the ruleset, 2 usage error, 3 daemon not reachable (--active).`;

function conditions(m: PolicyMatch): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(m)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) parts.push(`${k}: ${v.length > 4 ? `${v.slice(0, 4).join(', ')} … (${v.length})` : v.join(', ')}`);
    else if (typeof v === 'object') parts.push(`${k}: ${Object.entries(v as Record<string, string[]>).map(([a, b]) => `${a}=${b.join('|')}`).join(' ')}`);
    else parts.push(`${k}: ${String(v)}`);
  }
  const text = parts.length === 0 ? '(every detection)' : parts.join('; ');
  // One table line per rule: --json has the full conditions.
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
}

async function config(ctx: CliContext): Promise<Config> {
  return ctx.config ? ctx.config() : defaultConfig();
}

async function show(ctx: CliContext, args: string[]): Promise<number> {
  const { flags } = parseArgs(args, { command: 'policy', flags: { databases: 'string', rules: 'strings', json: 'boolean' }, maxPositionals: 0 });
  const json = ctx.json || flags.json;
  const cfg = await config(ctx);
  const rules = policyRules(cfg.response);
  const policy = policyFromConfig(cfg.response);
  const ruleset = await loadRuleset(cfg, flags.databases, flags.rules);
  const sum = summarize(policy, ruleset.signatures, ruleset.detectors);
  const byCategory: Record<string, Record<string, number>> = {};
  for (const s of ruleset.signatures) {
    const d = policy.decide(subjectOfSignature(s));
    const c = (byCategory[etCategory(s.name)] ??= {});
    c[d.action] = (c[d.action] ?? 0) + 1;
  }
  const out = {
    defaultPolicy: cfg.response.defaultPolicy,
    thresholdFile: cfg.response.thresholdFile,
    rules: rules.map((r, i) => ({ name: policy.rules[i]?.name ?? r.name, action: r.action, match: r.match, description: r.description ?? null })),
    ruleset: { version: ruleset.version, signatures: ruleset.signatures.length, detectors: ruleset.detectors.length },
    decisions: sum.byAction,
    byRule: sum.byRule,
    byCategory,
  };
  if (json) {
    printJson(ctx.stdout, out);
    return EXIT.OK;
  }
  ctx.stdout.write('policy (first match wins; no match: the signature\'s own action):\n');
  printTable(
    ctx.stdout,
    ['#', 'NAME', 'ACTION', 'CONDITIONS', 'BLOCK', 'ALERT', 'IGNORE'],
    out.rules.map((r, i) => [i + 1, r.name, r.action, conditions(r.match), sum.byRule[r.name ?? '']?.block ?? 0, sum.byRule[r.name ?? '']?.alert ?? 0, sum.byRule[r.name ?? '']?.ignore ?? 0]),
  );
  const fb = sum.byRule['rule-action'];
  ctx.stdout.write(`\nno rule matched (own action): block ${fb?.block ?? 0}, alert ${fb?.alert ?? 0}\n`);
  ctx.stdout.write(`\n${ruleset.version}: ${out.ruleset.signatures} signatures, ${out.ruleset.detectors} detectors — block ${sum.byAction.block ?? 0}, alert ${sum.byAction.alert ?? 0}, ignore ${sum.byAction.ignore ?? 0}\n`);
  ctx.stdout.write(`threshold file: ${cfg.response.thresholdFile === '' ? 'none' : cfg.response.thresholdFile}\n`);
  return EXIT.OK;
}

function printExplanation(ctx: CliContext, e: Explanation): void {
  printKeyValues(ctx.stdout, [
    ['sid', `${e.gid}:${e.sid}:${e.rev}`],
    ['msg', e.msg],
    ['category', e.category],
    ['classtype', e.classtype],
    ['priority', e.priority],
    ['severity', e.severity],
    ['metadata', e.metadata.length === 0 ? null : e.metadata.map(([k, v]) => `${k} ${v}`).join(', ')],
    ['origin', e.origin],
    ['rule action', e.ruleAction],
    ['source', e.source],
    ['decision', `${e.decision.action} (policy rule ${e.decision.rule}: ${e.decision.reason})`],
    ['threshold', e.activeThreshold],
  ]);
  for (const t of e.thresholds) ctx.stdout.write(`  ${t.at}: ${t.entry}\n`);
}

async function explainCmd(ctx: CliContext, args: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(args, { command: 'policy', flags: { databases: 'string', rules: 'strings', json: 'boolean', active: 'boolean' }, minPositionals: 1 });
  const json = ctx.json || flags.json;
  const sids = positionals.map((p) => {
    if (!/^\d{1,10}$/.test(p) || Number(p) === 0) throw usageError(`"${p}" is not a signature id`, 'policy');
    return Number(p);
  });
  let results: (Explanation | { sid: number; notFound: true })[];
  if (flags.active) {
    const r = await (await ctx.control()).call('policy.explain', { sids });
    results = isRecord(r) && Array.isArray(r.rules) ? (r.rules as (Explanation | { sid: number; notFound: true })[]) : [];
  } else {
    const cfg = await config(ctx);
    const policy = policyFromConfig(cfg.response);
    const ruleset = await loadRuleset(cfg, flags.databases, flags.rules);
    const filter = new ThresholdFilter(await loadThresholdFile(cfg.response.thresholdFile, cfg.databases.vars));
    results = sids.map((sid) => {
      const s = ruleset.signatures.find((x) => x.id === sid) ?? ruleset.detectors.find((x) => x.id === sid);
      return s === undefined ? { sid, notFound: true as const } : explain(policy, filter, s);
    });
  }
  const missing = results.filter((r) => 'notFound' in r);
  if (json) printJson(ctx.stdout, { rules: results });
  else {
    for (const [i, r] of results.entries()) {
      if (i > 0) ctx.stdout.write('\n');
      if ('notFound' in r) ctx.stdout.write(`sid ${r.sid}: not in the loaded ruleset (skipped by the importer? see bulwark db info)\n`);
      else printExplanation(ctx, r);
    }
  }
  return missing.length > 0 ? EXIT.FAILURE : EXIT.OK;
}

export const policyCommand: CliCommand = {
  name: 'policy',
  summary: 'response policy: which detections block; explain a signature',
  usage: USAGE,
  async run(ctx, args) {
    const [sub, ...rest] = args;
    switch (sub) {
      case 'show':
        return show(ctx, rest);
      case 'explain':
        return explainCmd(ctx, rest);
      case undefined:
        throw usageError('missing subcommand (show, explain)', 'policy');
      default:
        throw usageError(`unknown subcommand "${sub}" (show, explain)`, 'policy');
    }
  },
};
