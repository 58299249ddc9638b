/** Reads the configuration file (or falls back to defaults) and applies environment overrides. */
import { readFile, stat } from 'node:fs/promises';
import { BulwarkError } from '../errors.js';
import { configError, parseConfig, type ConfigIssue } from './parse.js';
import { CONFIG_SCHEMA, type FieldDef, type SchemaNode } from './schema.js';
import { defaultConfig, type Config } from './types.js';

export const DEFAULT_CONFIG_PATH = '/etc/bulwark/bulwark.yaml';
const MAX_CONFIG_BYTES = 1024 * 1024;

/** Environment variables that override single keys (documented in docs/configuration.md). */
export const ENV_OVERRIDES: Record<string, string> = {
  BULWARK_STATE_DIR: 'stateDir',
  BULWARK_SOCKET: 'control.socket',
  BULWARK_METRICS_LISTEN: 'metrics.listen',
  BULWARK_EVENTS_FILE: 'events.file',
  BULWARK_DATABASES_DIR: 'databases.dir',
  BULWARK_LOG_LEVEL: 'log.level',
};

export interface LoadedConfig {
  config: Config;
  /** The file actually read; undefined when running on built-in defaults. */
  path: string | undefined;
}

function fieldAt(path: string): FieldDef | undefined {
  let node: SchemaNode = CONFIG_SCHEMA;
  let field: FieldDef | undefined;
  for (const part of path.split('.')) {
    if (node.kind !== 'object') return undefined;
    field = node.fields[part];
    if (!field) return undefined;
    node = field.node;
  }
  return field;
}

/** Applies BULWARK_* overrides (string-valued keys only); throws BULWARK_ERR_CONFIG for bad values. */
export function applyEnvOverrides(config: Config, env: NodeJS.ProcessEnv): Config {
  const out = structuredClone(config);
  const issues: ConfigIssue[] = [];
  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined) continue;
    const field = fieldAt(path);
    const node = field?.node;
    let problem: string | undefined;
    if (node?.kind === 'string') problem = node.check?.(value);
    else if (node?.kind === 'enum') problem = node.values.includes(value) ? undefined : `expected one of ${node.values.join(', ')}`;
    if (problem !== undefined) {
      issues.push({ file: `env ${name}`, line: 0, column: 0, path, message: problem });
      continue;
    }
    const parts = path.split('.');
    let obj = out as unknown as Record<string, unknown>;
    for (const p of parts.slice(0, -1)) obj = obj[p] as Record<string, unknown>;
    obj[parts[parts.length - 1]!] = value;
  }
  if (issues.length > 0) {
    throw new BulwarkError('BULWARK_ERR_CONFIG', issues.map((i) => `config ${i.file}: ${i.path}: ${i.message}`).join('\n'), { details: { errors: issues } });
  }
  return out;
}

/** Reads and validates a file; refuses oversized or unreadable files with BULWARK_ERR_CONFIG. */
export async function readConfigFile(path: string): Promise<Config> {
  let text: string;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new BulwarkError('BULWARK_ERR_CONFIG', `config ${path}: not a regular file`);
    if (st.size > MAX_CONFIG_BYTES) throw new BulwarkError('BULWARK_ERR_CONFIG', `config ${path}: larger than ${MAX_CONFIG_BYTES} bytes`);
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof BulwarkError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new BulwarkError('BULWARK_ERR_CONFIG', `config ${path}: cannot read (${code || String(e)})`, { cause: e });
  }
  return parseConfig(text, path);
}

/**
 * `explicitPath` (--config) must exist. Without it, DEFAULT_CONFIG_PATH is read when present
 * and built-in defaults are used when it is absent.
 */
export async function loadConfig(explicitPath: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  if (explicitPath !== undefined) {
    return { config: applyEnvOverrides(await readConfigFile(explicitPath), env), path: explicitPath };
  }
  try {
    await stat(DEFAULT_CONFIG_PATH);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { config: applyEnvOverrides(defaultConfig(), env), path: undefined };
  }
  return { config: applyEnvOverrides(await readConfigFile(DEFAULT_CONFIG_PATH), env), path: DEFAULT_CONFIG_PATH };
}

export { configError };
