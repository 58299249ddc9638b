/**
 * The CLI described as data, read from the command table itself (src/cli/commands/index.ts):
 * each command's synopsis lines ("Usage: bulwark db info [--active] [--json]") give its
 * subcommand words, its flags and the values a flag takes ("--type a|b|c"). The man page and
 * the bash/zsh completions are rendered from it, so they follow the commands' own --help and a
 * unit test keeps the shipped files (packaging/man, packaging/completion) current.
 */
import type { CliCommand } from './types.js';
import { VERSION } from '../version.js';

export interface CommandSpec {
  name: string;
  summary: string;
  /** Subcommand word paths, e.g. [["sources","list"],["update"]]. */
  paths: string[][];
  flags: string[];
  /** Flag → the values it takes (from "--flag a|b|c"). */
  values: Record<string, string[]>;
  /** Flags followed by a path (PATH, FILE, DIR). */
  fileFlags: string[];
}

export const GLOBAL_FLAGS = ['--config', '--json', '--help', '--version'];

const WORD = /^[a-z][a-z0-9-]*$/;

export function commandSpec(c: CliCommand): CommandSpec {
  const synopsis = c.usage.split('\n').filter((l) => new RegExp(`^\\s*(Usage:\\s*)?bulwark ${c.name}(\\s|$)`).test(l));
  const paths: string[][] = [];
  for (const line of synopsis) {
    const rest = line.replace(new RegExp(`^\\s*(Usage:\\s*)?bulwark ${c.name}`), '').trim().split(/\s+/);
    // Words up to the first placeholder or flag; "a|b|c" at a word position is three alternatives.
    let prefixes: string[][] = [[]];
    for (const tok of rest) {
      const alts = tok.split('|');
      if (tok === '' || !alts.every((a) => WORD.test(a))) break;
      prefixes = prefixes.flatMap((p) => alts.map((a) => [...p, a]));
    }
    for (const p of prefixes) if (p.length > 0 && !paths.some((x) => x.join(' ') === p.join(' '))) paths.push(p);
  }
  const flags = new Set<string>();
  const values: Record<string, string[]> = {};
  const fileFlags = new Set<string>();
  for (const m of c.usage.matchAll(/(?:^|[\s[(,])(--[a-z][a-z0-9-]*)(?:[ =]([^\s\]]+))?/g)) {
    const flag = m[1]!;
    flags.add(flag);
    const arg = m[2];
    if (arg === undefined) continue;
    const alts = arg.replace(/[.…,;]+$/, '').split('|');
    if (alts.length > 1 && alts.every((a) => /^[a-z0-9][a-z0-9-]*$/.test(a))) values[flag] = [...new Set([...(values[flag] ?? []), ...alts])];
    else if (/^(PATH|FILE|DIR)\b|FILE\.|PATH\b/.test(arg)) fileFlags.add(flag);
  }
  return { name: c.name, summary: c.summary, paths, flags: [...flags].sort(), values, fileFlags: [...fileFlags].sort() };
}

/** "" → top-level commands; "rules" → its first words; "rules sources" → the next ones. */
function childrenTable(specs: readonly CommandSpec[]): Map<string, string[]> {
  const t = new Map<string, string[]>();
  const add = (k: string, w: string): void => {
    const l = t.get(k) ?? [];
    if (!l.includes(w)) l.push(w);
    t.set(k, l);
  };
  for (const s of specs) {
    add('', s.name);
    for (const p of s.paths) for (let i = 0; i < p.length; i++) add([s.name, ...p.slice(0, i)].join(' '), p[i]!);
  }
  return t;
}

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function valueCases(specs: readonly CommandSpec[], indent: string, filesAction: string, wordsAction: (w: string) => string): string[] {
  const vals = new Map<string, string[]>();
  const files = new Set<string>(['--config']);
  for (const s of specs) {
    for (const [f, v] of Object.entries(s.values)) vals.set(f, [...new Set([...(vals.get(f) ?? []), ...v])]);
    for (const f of s.fileFlags) files.add(f);
  }
  const out: string[] = [];
  for (const [f, v] of [...vals].sort()) out.push(`${indent}${f}) ${wordsAction(v.join(' '))} ;;`);
  const fileOnly = [...files].filter((f) => !vals.has(f)).sort();
  if (fileOnly.length > 0) out.push(`${indent}${fileOnly.join('|')}) ${filesAction} ;;`);
  return out;
}

function caseTables(specs: readonly CommandSpec[], fn: string): string[] {
  const children = childrenTable(specs);
  const out = [`${fn}_children() {`, '  case "$1" in'];
  for (const [k, v] of children) out.push(`    ${shq(k)}) echo ${shq(v.join(' '))} ;;`);
  out.push('  esac', '}', `${fn}_flags() {`, '  case "$1" in');
  for (const s of specs) out.push(`    ${shq(s.name)}) echo ${shq([...new Set([...s.flags, '--help', '--config', '--json'])].join(' '))} ;;`);
  out.push(`    *) echo ${shq(GLOBAL_FLAGS.join(' '))} ;;`, '  esac', '}');
  return out;
}

const HEADER = (what: string): string => `# ${what} for bulwark ${VERSION}. Generated from the CLI's command table (src/cli/spec.ts): do not edit;\n# regenerate with \`npm run gen:cli\` (a unit test fails when this file is stale).`;

export function renderBash(specs: readonly CommandSpec[]): string {
  return [
    HEADER('bash completion'),
    '# Install: copy to /usr/share/bash-completion/completions/bulwark, or: eval "$(bulwark completion bash)"',
    ...caseTables(specs, '_bulwark'),
    '_bulwark() {',
    '  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} key="" w i',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    w=${COMP_WORDS[i]}',
    '    [[ $w == -* ]] && continue',
    '    if [[ " $(_bulwark_children "$key") " == *" $w "* ]]; then key=${key:+$key }$w; fi',
    '  done',
    '  case $prev in',
    ...valueCases(specs, '    ', 'COMPREPLY=($(compgen -f -- "$cur")); return', (w) => `COMPREPLY=($(compgen -W ${shq(w)} -- "$cur")); return`),
    '  esac',
    '  if [[ $cur == -* ]]; then',
    '    COMPREPLY=($(compgen -W "$(_bulwark_flags "${key%% *}")" -- "$cur"))',
    '    return',
    '  fi',
    '  local words; words=$(_bulwark_children "$key")',
    '  if [[ -n $words ]]; then COMPREPLY=($(compgen -W "$words" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi',
    '}',
    'complete -F _bulwark bulwark',
    '',
  ].join('\n');
}

export function renderZsh(specs: readonly CommandSpec[]): string {
  return [
    '#compdef bulwark',
    HEADER('zsh completion'),
    '# Install: copy as _bulwark into a directory of $fpath, or: source <(bulwark completion zsh)',
    ...caseTables(specs, '_bulwark'),
    '_bulwark() {',
    '  local cur=${words[CURRENT]} prev=${words[CURRENT-1]} key="" w i',
    '  for ((i = 2; i < CURRENT; i++)); do',
    '    w=${words[i]}',
    '    [[ $w == -* ]] && continue',
    '    if [[ " $(_bulwark_children "$key") " == *" $w "* ]]; then key=${key:+$key }$w; fi',
    '  done',
    '  case $prev in',
    ...valueCases(specs, '    ', '_files; return', (w) => `compadd -- ${w}; return`),
    '  esac',
    '  if [[ $cur == -* ]]; then',
    '    compadd -- ${=$(_bulwark_flags "${key%% *}")}',
    '    return',
    '  fi',
    '  local next; next=$(_bulwark_children "$key")',
    '  if [[ -n $next ]]; then compadd -- ${=next}; else _files; fi',
    '}',
    'if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _bulwark "$@"; else compdef _bulwark bulwark; fi',
    '',
  ].join('\n');
}

/** roff-escapes text for a man page line. */
function roff(s: string): string {
  const t = s.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(t) ? `\\&${t}` : t;
}

export interface ManPageInput {
  commands: readonly CliCommand[];
  helpText: string;
}

export function renderMan(m: ManPageInput): string {
  const out: string[] = [
    `.\\" Generated from the CLI's command table (src/cli/spec.ts) by \`npm run gen:cli\`: do not edit.`,
    // No date: the page changes only when the commands do (the staleness test compares bytes).
    `.TH BULWARK 1 "" "bulwark ${VERSION}" "User Commands"`,
    '.SH NAME',
    'bulwark \\- network threat protection and network isolation for Linux hosts',
    '.SH SYNOPSIS',
    '.B bulwark',
    '[\\fB\\-\\-config\\fR \\fIPATH\\fR] [\\fB\\-\\-json\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR...]',
    '.SH DESCRIPTION',
    'bulwark inspects inbound TCP traffic against signature databases (its own and Suricata/ET Open rules),',
    'blocks attackers in nftables for a while, and isolates the host from the network on demand or on',
    'detection. \\fBbulwark run\\fR is the daemon; every other command talks to it over its control socket',
    'or works on files directly.',
    '.SH COMMANDS',
  ];
  for (const c of m.commands) {
    out.push(`.SS ${roff(c.name)}`, roff(c.summary), '.PP', '.nf');
    for (const l of c.usage.trimEnd().split('\n')) out.push(roff(l));
    out.push('.fi');
  }
  const help = m.helpText.split('\n');
  const from = help.findIndex((l) => l.startsWith('Global flags'));
  out.push('.SH GLOBAL OPTIONS', '.nf');
  for (const l of help.slice(from + 1)) {
    if (l.startsWith('Exit codes')) break;
    if (l.trim() !== '') out.push(roff(l));
  }
  out.push(
    '.fi',
    '.SH EXIT STATUS',
    '0 ok, 1 failure, 2 usage error, 3 daemon not reachable, 78 configuration error.',
    '.SH FILES',
    '.TP',
    '.I /etc/bulwark/bulwark.yaml',
    'configuration (\\fBbulwark config example\\fR prints every key)',
    '.TP',
    '.I /run/bulwark/bulwark.sock',
    'control socket (control.socket)',
    '.TP',
    '.I /var/log/bulwark/events.json',
    'EVE\\-JSON events and their rotations (events.file; \\fBbulwark events\\fR)',
    '.TP',
    '.I /var/lib/bulwark/rules/bulwark.rules',
    'rules installed by \\fBbulwark rules update\\fR (rules.dir)',
    '.TP',
    '.I /etc/bulwark/disable.conf, enable.conf, drop.conf, modify.conf',
    'rule policy in suricata\\-update\'s formats',
    '.SH ENVIRONMENT',
    'BULWARK_STATE_DIR, BULWARK_SOCKET, BULWARK_METRICS_LISTEN, BULWARK_EVENTS_FILE, BULWARK_DATABASES_DIR,',
    'BULWARK_LOG_LEVEL override single configuration keys.',
    '.SH SEE ALSO',
    '.BR nft (8),',
    '.BR suricata\\-update (8),',
    '.BR prometheus (1)',
    '',
  );
  return out.join('\n');
}
