/**
 * `bulwark rules …`: rule sources and updates, like suricata-update (src/rules). Works without
 * the daemon; `update` asks a running daemon to reload afterwards.
 */
import { systemClock } from '../../clock.js';
import { defaultConfig, type Config } from '../../config/types.js';
import { BulwarkError, isBulwarkError } from '../../errors.js';
import { parseRule } from '../../signatures/rules.js';
import { installedRulesFile, readInstalled, rulesDir, type RulesManifest } from '../../rules/installed.js';
import { GROUP_MARK } from '../../rules/merge.js';
import { globRegExp, pythonRegExp } from '../../rules/policy.js';
import { logicalLines, parseRuleText, ruleKey } from '../../rules/ruletext.js';
import { KNOWN_SOURCES, disableSource, enableSource, readSources, removeSource, resolveSource, writeSources } from '../../rules/sources.js';
import { runRulesUpdate, type UpdateProgress, type UpdateReport } from '../../rules/update.js';
import { parseArgs, usageError } from '../args.js';
import { escapeText, formatBytes, printJson, printKeyValues, printTable } from '../output.js';
import { Progress, progressAllowed } from '../progress.js';
import { EXIT, type CliCommand, type CliContext } from '../types.js';

const USAGE = `Usage: bulwark rules sources list [--json]
       bulwark rules sources enable NAME [--url URL|PATH] [--checksum md5|sha256|none] [--checksum-url URL]
       bulwark rules sources disable NAME
       bulwark rules sources remove NAME
       bulwark rules update [--force] [--no-reload] [--json]
       bulwark rules list [--sid SID]... [--group GLOB] [--match REGEX] [--enabled|--disabled] [--limit N] [--json]
       bulwark rules stats [--json]

Rule sources and updates, like suricata-update. State lives in rules.dir (default
<stateDir>/rules): sources.yaml, the download cache and bulwark.rules, the merged file the
daemon loads after databases.rules.

  sources list     known sources (et/open: Emerging Threats Open for Suricata 7) and the
                   configured ones, enabled or not, with their URL and checksum.
  sources enable   enable a known source, or add one: NAME is vendor/name ("local/custom"),
                   --url an http(s):// or file:// URL or an absolute path to a .rules file, a
                   .tar.gz/.tgz of rules (any layout; rules/*.rules like ET) or a .rules.gz.
                   --url on a known source points it at a mirror (its checksum file is expected
                   at the mirror too). --checksum md5|sha256 verifies URL.md5 / URL.sha256
                   (default for et/open: md5), --checksum-url names the checksum file.
  sources disable  keep the source configured but leave it out of updates; remove forgets it.
  update           download every enabled source (timeout rules.timeout, size cap
                   rules.maxDownloadSize, progress on a terminal), verify the published checksum,
                   unpack (no absolute paths, "..", escaping links; bounded size and entries),
                   apply rules.disableConf, enableConf, dropConf and modifyConf (suricata-update
                   formats), enable as noalert the disabled rules that set a flowbit an enabled
                   rule checks, compile the whole ruleset, write bulwark.rules atomically with its
                   manifest, and ask the daemon to reload. Any failure leaves the installed rules
                   and the daemon's ruleset as they were (exit 1). --force downloads again even
                   when the published checksum matches the cache. --no-reload skips the reload.
  list             rules of the installed file: SID, REV, STATE (enabled, disabled, noalert),
                   GROUP, whether bulwark loads the rule or why it skips it, and MSG.
                   Filters: --sid (repeatable), --group (file name wildcard), --match (regex
                   over the rule text), --enabled / --disabled. --limit N (default 50, 0 = all).
  stats            counts of the installed file: per source and file, what the policy changed,
                   flowbit resolution, and what bulwark loads (skip reasons).

Exit codes: 0 ok, 1 failure (nothing changed), 2 usage error, 78 bad policy file or configuration.`;

async function configOf(ctx: CliContext): Promise<Config> {
  return ctx.config ? ctx.config() : defaultConfig();
}

async function sources(ctx: CliContext, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const cfg = await configOf(ctx);
  const dir = rulesDir(cfg);
  if (sub === 'list' || sub === undefined) {
    const { flags } = parseArgs(rest, { command: 'rules', flags: { json: 'boolean' }, maxPositionals: 0 });
    const list = await readSources(dir);
    const installed = await readInstalled(installedRulesFile(cfg)).catch(() => undefined);
    const rows = [
      ...list.map((s) => {
        const r = resolveSource(s);
        const rec = installed?.manifest?.sources.find((x) => x.name === s.name);
        return { name: s.name, state: s.enabled ? 'enabled' : 'disabled', url: r.url, checksum: r.checksum ? `${r.checksum.algorithm} ${r.checksum.url}` : 'none', known: r.known, installed: rec ? { version: rec.version, released: rec.released, fetchedAt: rec.fetchedAt } : null };
      }),
      ...KNOWN_SOURCES.filter((k) => !list.some((s) => s.name === k.name)).map((k) => ({ name: k.name, state: 'available', url: k.url, checksum: k.checksum === 'none' ? 'none' : `${k.checksum} ${k.url}.${k.checksum}`, known: true, installed: null })),
    ];
    if (ctx.json || flags.json) {
      printJson(ctx.stdout, { dir, sources: rows, known: KNOWN_SOURCES });
      return EXIT.OK;
    }
    printTable(
      ctx.stdout,
      ['NAME', 'STATE', 'INSTALLED', 'URL', 'CHECKSUM'],
      rows.map((r) => [r.name, r.state, r.installed ? `${r.installed.version} (${r.installed.fetchedAt.slice(0, 16).replace('T', ' ')})` : '-', r.url, r.checksum.split(' ')[0]]),
    );
    return EXIT.OK;
  }
  if (sub === 'enable') {
    const { flags, positionals } = parseArgs(rest, { command: 'rules', flags: { url: 'string', checksum: 'string', 'checksum-url': 'string', json: 'boolean' }, minPositionals: 1, maxPositionals: 1 });
    const c = flags.checksum;
    if (c !== undefined && c !== 'md5' && c !== 'sha256' && c !== 'none') throw usageError('--checksum must be md5, sha256 or none', 'rules');
    const name = positionals[0]!;
    const next = enableSource(await readSources(dir), {
      name,
      ...(flags.url !== undefined ? { url: flags.url } : {}),
      ...(c !== undefined ? { checksum: c } : {}),
      ...(flags['checksum-url'] !== undefined ? { checksumUrl: flags['checksum-url'] } : {}),
    });
    await writeSources(dir, next);
    const r = resolveSource(next.find((s) => s.name === name)!);
    if (ctx.json || flags.json) printJson(ctx.stdout, { enabled: name, url: r.url, checksum: r.checksum ?? null });
    else ctx.stdout.write(`rule source ${name} enabled: ${r.url}${r.checksum ? ` (${r.checksum.algorithm} from ${r.checksum.url})` : ' (no checksum)'}\nrun \`bulwark rules update\` to install it\n`);
    return EXIT.OK;
  }
  if (sub === 'disable' || sub === 'remove') {
    const { positionals } = parseArgs(rest, { command: 'rules', flags: { json: 'boolean' }, minPositionals: 1, maxPositionals: 1 });
    const name = positionals[0]!;
    const list = await readSources(dir);
    await writeSources(dir, sub === 'disable' ? disableSource(list, name) : removeSource(list, name));
    ctx.stdout.write(`rule source ${name} ${sub === 'disable' ? 'disabled' : 'removed'}; its rules stay installed until the next \`bulwark rules update\`\n`);
    return EXIT.OK;
  }
  throw usageError(`unknown subcommand "sources ${sub}" (list, enable, disable, remove)`, 'rules');
}

/** One bar at a time: a download per source, then the compile. */
function updateProgress(ctx: CliContext, json: boolean): UpdateProgress {
  const allowed = progressAllowed(ctx.stderr, json, ctx.env);
  let current: { key: string; bar: Progress } | undefined;
  const bar = (key: string, label: string, delayMs: number, bytes: boolean): Progress => {
    if (current?.key !== key) {
      current?.bar.end();
      current = { key, bar: new Progress(allowed ? ctx.stderr : undefined, { label, delayMs, bytes }) };
    }
    return current.bar;
  };
  return {
    download: (name, n, total) => {
      bar(`dl:${name}`, name, 300, true).update(n, total);
    },
    compile: (done, total) => {
      bar('compile', 'compiling ruleset', 1000, false).update(done, total);
    },
    end: () => {
      current?.bar.end();
      current = undefined;
    },
  };
}

function printReport(ctx: CliContext, r: UpdateReport): void {
  const out = ctx.stdout;
  for (const s of r.sources) {
    const how = s.cached ? 'unchanged (published checksum matches the cache)' : `downloaded ${formatBytes(s.bytes)}`;
    out.write(`${s.name}: ${how} from ${s.url}${s.checksum ? `, ${s.checksum.algorithm} verified` : ''}; version ${s.version}, released ${s.released}; ${s.rules} rules in ${s.files} files, ${s.enabled} enabled\n`);
  }
  const st = r.stats;
  const n = (x: number): string => x.toLocaleString('en-US');
  out.write(
    `merged: ${n(st.total)} rules, ${n(st.enabled)} enabled, ${n(st.disabled)} disabled; policy: ${st.disabledByPolicy} disabled, ${st.enabledByPolicy} enabled, ${st.dropped} set to drop, ${st.modified} modified; ` +
      `flowbits: ${st.enabledForFlowbits} rules enabled as noalert, ${st.crossFileFlowbitChecks} checks use a bit set in another file; ${st.duplicates} duplicate sids\n`,
  );
  if (st.ignoredFiles.length > 0) out.write(`ignored files: ${st.ignoredFiles.join(', ')}\n`);
  const skippedTotal = Object.values(r.compile.skipped).reduce((a, b) => a + b, 0);
  const top = Object.entries(r.compile.skipped)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([k, v]) => `${n(v)} ${k}`)
    .join(', ');
  out.write(`bulwark loads ${n(r.compile.loaded)} of the enabled rules; ${n(skippedTotal)} skipped${top ? ` (${top}${Object.keys(r.compile.skipped).length > 4 ? ', …' : ''})` : ''}: see \`bulwark rules stats\`\n`);
  for (const w of r.warnings) ctx.stderr.write(`warning: ${escapeText(w)}\n`);
  if (!r.changed) out.write(`${r.file}: unchanged (nothing to install; --force rewrites it)\n`);
  else if (r.reloaded === true) out.write(`installed ${r.file}; the daemon reloaded: ${r.version}\n`);
  else if (r.reloaded === false) out.write(`installed ${r.file}; the daemon is not running (it loads the rules when it starts)\n`);
  else out.write(`installed ${r.file} (--no-reload: run \`bulwark db reload\`)\n`);
}

async function update(ctx: CliContext, args: string[]): Promise<number> {
  const { flags } = parseArgs(args, { command: 'rules', flags: { force: 'boolean', 'no-reload': 'boolean', json: 'boolean' }, maxPositionals: 0 });
  const json = ctx.json || flags.json;
  const config = await configOf(ctx);
  const report = await runRulesUpdate({
    config,
    clock: systemClock,
    force: flags.force,
    progress: updateProgress(ctx, json),
    ...(flags['no-reload']
      ? {}
      : {
          reload: async () => {
            let client;
            try {
              client = await ctx.control();
            } catch (e) {
              if (isBulwarkError(e, 'BULWARK_ERR_UNREACHABLE')) return false;
              throw e;
            }
            try {
              await client.call('db.reload');
            } catch (e) {
              if (isBulwarkError(e, 'BULWARK_ERR_UNREACHABLE')) return false;
              throw e;
            }
            return true;
          },
        }),
  });
  if (json) printJson(ctx.stdout, report);
  else printReport(ctx, report);
  return EXIT.OK;
}

async function installedOrFail(config: Config): Promise<NonNullable<Awaited<ReturnType<typeof readInstalled>>>> {
  const file = installedRulesFile(config);
  const r = await readInstalled(file);
  if (!r) throw new BulwarkError('BULWARK_ERR_NOT_FOUND', `${file}: no rules installed yet (\`bulwark rules sources enable et/open\`, then \`bulwark rules update\`)`);
  return r;
}

function stateOf(enabled: boolean, noalert: boolean, key: string, m: RulesManifest | undefined): string {
  const base = !enabled ? 'disabled' : noalert ? 'noalert' : 'enabled';
  const why: string[] = [];
  if (m) for (const [c, list] of Object.entries(m.stats.changes)) if (list.includes(key)) why.push(c === 'flowbits' ? 'for flowbits' : c);
  return why.length > 0 ? `${base} (${why.join(', ')})` : base;
}

async function list(ctx: CliContext, args: string[]): Promise<number> {
  const { flags } = parseArgs(args, {
    command: 'rules',
    flags: { sid: 'strings', group: 'string', match: 'string', enabled: 'boolean', disabled: 'boolean', limit: 'string', json: 'boolean' },
    maxPositionals: 0,
  });
  const json = ctx.json || flags.json;
  const sids = flags.sid.map((s) => {
    if (!/^[0-9]{1,10}$/.test(s)) throw usageError(`--sid ${s}: not a signature id`, 'rules');
    return Number(s);
  });
  const limit = flags.limit === undefined ? 50 : /^[0-9]{1,7}$/.test(flags.limit) ? Number(flags.limit) : NaN;
  if (Number.isNaN(limit)) throw usageError('--limit must be a number (0 = all)', 'rules');
  let re: RegExp | undefined;
  try {
    re = flags.match === undefined ? undefined : pythonRegExp(flags.match, 'i');
  } catch (e) {
    throw usageError(`--match: ${(e as Error).message}`, 'rules');
  }
  const group = flags.group === undefined ? undefined : globRegExp(flags.group);
  const config = await configOf(ctx);
  const inst = await installedOrFail(config);
  const rows: Record<string, unknown>[] = [];
  let matched = 0;
  let currentGroup = '';
  for (const l of logicalLines(inst.text)) {
    if (l.text.startsWith(GROUP_MARK)) {
      currentGroup = l.text.slice(GROUP_MARK.length);
      continue;
    }
    const r = parseRuleText(l.text);
    if (!r) continue;
    const file = currentGroup.slice(currentGroup.indexOf(' ') + 1);
    const base = file.slice(file.lastIndexOf('/') + 1);
    if (sids.length > 0 && !sids.includes(r.sid)) continue;
    if (group && !group.test(base) && !group.test(base.replace(/\.rules$/, ''))) continue;
    if (re && !re.test(r.raw)) continue;
    if (flags.enabled && !r.enabled) continue;
    if (flags.disabled && r.enabled) continue;
    matched++;
    if (limit > 0 && rows.length >= limit) continue;
    let bulwark = 'not loaded (disabled)';
    if (r.enabled) {
      const v = parseRule(r.raw, inst.file, l.line, { vars: config.databases.vars });
      bulwark = 'reason' in v ? `skipped: ${v.reason}` : 'loads';
    }
    rows.push({
      gid: r.gid,
      sid: r.sid,
      rev: r.rev,
      state: stateOf(r.enabled, r.noalert, ruleKey(r), inst.manifest),
      action: r.action,
      source: currentGroup.slice(0, currentGroup.indexOf(' ')),
      group: base,
      line: l.line,
      bulwark,
      msg: r.msg,
      ...(sids.length > 0 ? { rule: r.raw } : {}),
    });
  }
  if (json) {
    printJson(ctx.stdout, { file: inst.file, matched, shown: rows.length, rules: rows });
    return EXIT.OK;
  }
  if (rows.length === 0) {
    ctx.stdout.write('no matching rules\n');
    return sids.length > 0 ? EXIT.FAILURE : EXIT.OK;
  }
  printTable(ctx.stdout, ['SID', 'REV', 'STATE', 'GROUP', 'BULWARK', 'MSG'], rows.map((r) => [r.sid, r.rev, r.state, r.group, r.bulwark, r.msg]));
  if (sids.length > 0) for (const r of rows) ctx.stdout.write(`\n${String(r.source)} ${String(r.group)} (${inst.file}:${String(r.line)}):\n  ${escapeText(String(r.rule))}\n`);
  if (matched > rows.length) ctx.stdout.write(`(${matched - rows.length} more: --limit 0 shows all)\n`);
  return EXIT.OK;
}

async function stats(ctx: CliContext, args: string[]): Promise<number> {
  const { flags } = parseArgs(args, { command: 'rules', flags: { json: 'boolean' }, maxPositionals: 0 });
  const inst = await installedOrFail(await configOf(ctx));
  const m = inst.manifest;
  if (ctx.json || flags.json) {
    printJson(ctx.stdout, { file: inst.file, problem: inst.problem ?? null, manifest: m ?? null });
    return EXIT.OK;
  }
  if (inst.problem) ctx.stderr.write(`warning: ${inst.file}: ${inst.problem}\n`);
  if (!m) return EXIT.FAILURE;
  const st = m.stats;
  printKeyValues(ctx.stdout, [
    ['file', inst.file],
    ['generated', `${m.generatedAt} by ${m.generator}`],
    ['rules', `${st.total} (${st.enabled} enabled, ${st.disabled} disabled) from ${st.files} files; ${st.duplicates} duplicate sids dropped`],
    ['policy', `${st.disabledByPolicy} disabled, ${st.enabledByPolicy} enabled, ${st.dropped} set to drop, ${st.modified} modified`],
    ['flowbits', `${st.enabledForFlowbits} rules enabled as noalert; ${st.crossFileFlowbitChecks} checks need a bit set in another file; ${st.unsetFlowbits} bits checked but never set`],
    ['bulwark loads', `${m.compile.loaded} rules (${m.compile.signaturesTotal} signatures in the whole ruleset, compiled in ${m.compile.compileMs} ms)`],
  ]);
  ctx.stdout.write('\nsources:\n');
  printTable(
    ctx.stdout,
    ['NAME', 'VERSION', 'RELEASED', 'FETCHED', 'CHECKSUM', 'RULES', 'ENABLED'],
    m.sources.map((s) => [s.name, s.version, s.released, s.fetchedAt.slice(0, 16).replace('T', ' '), s.checksum ? `${s.checksum.algorithm} ${s.checksum.value.slice(0, 12)}…` : 'none', s.rules, s.enabled]),
  );
  const skipped = Object.entries(m.compile.skipped).sort((a, b) => b[1] - a[1]);
  if (skipped.length > 0) {
    ctx.stdout.write('\nenabled rules bulwark skips, by reason:\n');
    printTable(ctx.stdout, ['COUNT', 'REASON'], skipped.map(([k, v]) => [v, k]));
  }
  ctx.stdout.write('\nfiles:\n');
  printTable(ctx.stdout, ['SOURCE', 'FILE', 'RULES', 'ENABLED'], st.groups.map((g) => [g.source, g.file, g.total, g.enabled]));
  return EXIT.OK;
}

export const rulesCommand: CliCommand = {
  name: 'rules',
  summary: 'rule sources and updates (ET Open…), like suricata-update: sources, update, list, stats',
  usage: USAGE,
  async run(ctx, args) {
    const [sub, ...rest] = args;
    switch (sub) {
      case 'sources':
        return sources(ctx, rest);
      case 'update':
        return update(ctx, rest);
      case 'list':
        return list(ctx, rest);
      case 'stats':
        return stats(ctx, rest);
      case undefined:
        throw usageError('missing subcommand (sources, update, list, stats)', 'rules');
      default:
        throw usageError(`unknown subcommand "${sub}" (sources, update, list, stats)`, 'rules');
    }
  },
};
