/**
 * `bulwark db info | verify | reload`: signature databases. `info` and `verify` work offline
 * (they load the databases named by the configuration themselves); `info --active` and `reload`
 * talk to the daemon.
 */
import { parseArgs, usageError } from '../args.js';
import { formatBytes, printJson, printKeyValues, printTable } from '../output.js';
import { EXIT, type CliCommand, type CliContext } from '../types.js';
import { defaultConfig, withDatasetDir, type Config } from '../../config/types.js';
import { loadDatabases } from '../../signatures/load.js';
import { checkManifest } from '../../signatures/manifest.js';
import { rulesetInfo } from '../../signatures/info.js';
import { compileRuleset } from '../../signatures/compile.js';
import { listDatabaseDir } from '../../signatures/manifest.js';
import { isRecord } from '../../service/protocol.js';
import { installedExtraSources } from '../../rules/installed.js';
import { compileProgress } from '../progress.js';
import { errorMessage, isBulwarkError } from '../../errors.js';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const USAGE = `Usage: bulwark db info [--active] [--json]
       bulwark db verify [DIR] [--json]
       bulwark db reload [--json]

  info     database name and version, signature and detector counts, watched ports, rules
           skipped per reason, compile time and memory. Loads the databases named by the
           configuration (databases.dir, databases.rules, and the rules installed by
           \`bulwark rules update\`) itself; --active shows the ruleset
           the running daemon uses instead (exit 3 when it is not reachable).
  verify   checks DIR (default databases.dir) against its MANIFEST.json (sha256 of every file)
           and that every database in it compiles. Exit 0 when both hold, 1 otherwise.
  reload   asks the daemon to rebuild its ruleset from the files (same as SIGHUP for the
           databases). Exit 0, or 1 with the error (file:line); the daemon keeps the old ruleset.

Regenerate a manifest after editing a database: npm run db:manifest [-- DIR]`;

async function config(ctx: CliContext): Promise<Config> {
  return ctx.config ? ctx.config() : defaultConfig();
}

function printInfo(ctx: CliContext, info: Record<string, unknown>): void {
  const dbs = Array.isArray(info.databases) ? (info.databases as Record<string, unknown>[]) : [];
  const names = [...new Set(dbs.map((d) => `${String(d.name)} ${String(d.version)} (released ${String(d.released)})`))];
  const skipped = isRecord(info.skipped) ? info.skipped : {};
  printKeyValues(ctx.stdout, [
    ['database', names.length > 0 ? names.join(', ') : info.version],
    ['files', Array.isArray(info.files) ? info.files.length : dbs.length],
    ['signatures', info.signatures],
    ['detectors', Array.isArray(info.detectors) ? info.detectors.length : undefined],
    ['ports', `${String(info.portCount)}: ${String(info.ports)}`],
    ['port groups', `${String(info.groups)}${info.mergedGroups === true ? ' (merged: over the automaton memory budget)' : ''}`],
    ['automaton states', info.states],
    ['rules loaded', info.loaded],
    ['rules skipped', info.skippedTotal],
    ['compile time', `${String(info.compileMs)} ms`],
    ['memory', typeof info.memoryBytes === 'number' ? formatBytes(info.memoryBytes) : undefined],
  ]);
  const entries = Object.entries(skipped);
  if (entries.length > 0) {
    ctx.stdout.write('\nskipped by reason:\n');
    printTable(ctx.stdout, ['COUNT', 'REASON'], entries.map(([r, n]) => [n, r]));
  }
  const kw = isRecord(info.keywords) ? info.keywords : {};
  const enforced = isRecord(kw.enforced) ? Object.entries(kw.enforced) : [];
  const ignored = isRecord(kw.ignored) ? Object.entries(kw.ignored) : [];
  if (enforced.length + ignored.length > 0) {
    ctx.stdout.write('\nrule keywords (loaded rules using each):\n');
    printTable(ctx.stdout, ['RULES', 'KEYWORD', 'STATUS'], [...enforced.map(([k, n]) => [n, k, 'enforced']), ...ignored.map(([k, n]) => [n, k, 'parsed, ignored (logging only)'])]);
  }
  const problems = Array.isArray(info.problems) ? (info.problems as Record<string, unknown>[]) : [];
  const invalid = problems.filter((p) => p.reason === 'invalid rule');
  if (invalid.length > 0) {
    ctx.stdout.write('\ninvalid rules (first ones):\n');
    for (const p of invalid.slice(0, 10)) ctx.stdout.write(`  ${String(p.message)}\n`);
  }
}

async function info(ctx: CliContext, args: string[]): Promise<number> {
  const { flags } = parseArgs(args, { command: 'db', flags: { active: 'boolean', json: 'boolean' }, maxPositionals: 0 });
  const json = ctx.json || flags.json;
  let out: Record<string, unknown>;
  if (flags.active) {
    const result = await (await ctx.control()).call('db.info');
    out = isRecord(result) ? result : {};
  } else {
    const cfg = await config(ctx);
    const bar = compileProgress(ctx, json);
    const loaded = await loadDatabases(withDatasetDir(cfg.databases, cfg.stateDir), { extraSources: await installedExtraSources(cfg), progress: bar.update }).finally(bar.end);
    out = { source: 'files', dir: cfg.databases.dir, files: loaded.files, ...rulesetInfo(loaded.ruleset) };
  }
  if (json) printJson(ctx.stdout, out);
  else printInfo(ctx, out);
  return EXIT.OK;
}

async function verify(ctx: CliContext, args: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(args, { command: 'db', flags: { json: 'boolean' }, maxPositionals: 1 });
  const json = ctx.json || flags.json;
  const cfg = await config(ctx);
  const dir = positionals[0] !== undefined ? resolve(positionals[0]) : cfg.databases.dir;
  const manifest = await checkManifest(dir);
  // Also compile what is there, so a syntax error is caught before a reload would refuse it.
  let compileError: string | null = null;
  let signatures: number | null = null;
  try {
    const sources = [];
    for (const n of await listDatabaseDir(dir)) {
      if (!/\.(ya?ml|rules)$/.test(n)) continue;
      const text = await readFile(join(dir, n), 'utf8');
      if (n.endsWith('.rules') || /^database:/m.test(text)) sources.push({ file: join(dir, n), text });
    }
    signatures = compileRuleset(sources, { vars: cfg.databases.vars, anyPorts: cfg.databases.anyPorts }).signatures.length;
  } catch (e) {
    compileError = isBulwarkError(e) ? e.message : errorMessage(e);
  }
  const ok = manifest.ok && compileError === null;
  if (json) {
    printJson(ctx.stdout, { dir, ok, manifest: { ok: manifest.ok, version: manifest.manifest?.version ?? null, problems: manifest.problems }, compile: { ok: compileError === null, error: compileError, signatures } });
  } else {
    ctx.stdout.write(`${dir}: manifest ${manifest.ok ? `ok (${manifest.manifest?.database ?? ''} ${manifest.manifest?.version ?? ''})` : 'MISMATCH'}\n`);
    for (const p of manifest.problems) ctx.stdout.write(`  ${p}\n`);
    ctx.stdout.write(compileError === null ? `${dir}: compiles (${signatures ?? 0} signatures)\n` : `${dir}: does not compile: ${compileError}\n`);
  }
  return ok ? EXIT.OK : EXIT.FAILURE;
}

async function reload(ctx: CliContext, args: string[]): Promise<number> {
  const { flags } = parseArgs(args, { command: 'db', flags: { json: 'boolean' }, maxPositionals: 0 });
  const json = ctx.json || flags.json;
  const result = await (await ctx.control()).call('db.reload');
  if (json) printJson(ctx.stdout, result);
  else {
    const r = isRecord(result) ? result : {};
    ctx.stdout.write(`databases reloaded: ${String(r.version)}, ${String(r.signatures)} signatures, ${String(r.ports)} ports, compiled in ${String(r.compileMs)} ms\n`);
  }
  return EXIT.OK;
}

export const dbCommand: CliCommand = {
  name: 'db',
  summary: 'signature databases: info, verify, reload',
  usage: USAGE,
  async run(ctx, args) {
    const [sub, ...rest] = args;
    switch (sub) {
      case 'info':
        return info(ctx, rest);
      case 'verify':
        return verify(ctx, rest);
      case 'reload':
        return reload(ctx, rest);
      case undefined:
        throw usageError('missing subcommand (info, verify, reload)', 'db');
      default:
        throw usageError(`unknown subcommand "${sub}" (info, verify, reload)`, 'db');
    }
  },
};
