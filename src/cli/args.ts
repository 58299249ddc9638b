/**
 * The one argument parser every command uses, so flags behave the same everywhere:
 * `--name value`, `--name=value`, booleans `--flag`, `--` ends flags, an unknown flag or a
 * missing value is a usage error (exit 2) with a one-line hint.
 */
import { BulwarkError } from '../errors.js';

export type FlagType = 'boolean' | 'string' | 'strings';

type FlagValue<T extends FlagType> = T extends 'boolean' ? boolean : T extends 'string' ? string | undefined : string[];

export interface ArgSpec<F extends Record<string, FlagType>> {
  /** Long flag names without dashes, e.g. { for: 'string', force: 'boolean', exclude: 'strings' }. */
  flags?: F;
  /** Single-letter aliases: { f: 'force' }. */
  short?: Record<string, keyof F & string>;
  /** Bounds on positional arguments (default 0..unbounded). */
  minPositionals?: number;
  maxPositionals?: number;
  /** Command name for the hint line ("see `bulwark NAME --help`"). */
  command?: string;
}

export interface ParsedArgs<F extends Record<string, FlagType>> {
  flags: { [K in keyof F]: FlagValue<F[K]> };
  positionals: string[];
}

export function usageError(message: string, command?: string): BulwarkError {
  const hint = command === undefined ? 'see `bulwark --help`' : `see \`bulwark ${command} --help\``;
  return new BulwarkError('BULWARK_ERR_USAGE', `${message} (${hint})`);
}

export function parseArgs<const F extends Record<string, FlagType>>(args: readonly string[], spec: ArgSpec<F> = {}): ParsedArgs<F> {
  const types: Record<string, FlagType> = spec.flags ?? {};
  const out: Record<string, boolean | string | string[] | undefined> = {};
  for (const [name, type] of Object.entries(types)) out[name] = type === 'boolean' ? false : type === 'strings' ? [] : undefined;
  const positionals: string[] = [];
  let flagsDone = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (flagsDone || !arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      flagsDone = true;
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else {
      const alias = arg.length === 2 ? spec.short?.[arg.slice(1)] : undefined;
      if (alias === undefined) throw usageError(`unknown flag ${arg}`, spec.command);
      name = alias;
    }
    const type = Object.hasOwn(types, name) ? types[name] : undefined;
    if (type === undefined) throw usageError(`unknown flag --${name}`, spec.command);
    if (type === 'boolean') {
      if (inline !== undefined) throw usageError(`flag --${name} takes no value`, spec.command);
      out[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined) throw usageError(`flag --${name} needs a value`, spec.command);
      value = next;
      i++;
    }
    if (type === 'string') {
      if (out[name] !== undefined) throw usageError(`flag --${name} given twice`, spec.command);
      out[name] = value;
    } else {
      (out[name] as string[]).push(value);
    }
  }
  if (spec.minPositionals !== undefined && positionals.length < spec.minPositionals) {
    throw usageError(`missing argument${spec.minPositionals - positionals.length > 1 ? 's' : ''}`, spec.command);
  }
  if (spec.maxPositionals !== undefined && positionals.length > spec.maxPositionals) {
    throw usageError(`unexpected argument ${positionals[spec.maxPositionals]!}`, spec.command);
  }
  return { flags: out as ParsedArgs<F>['flags'], positionals };
}
