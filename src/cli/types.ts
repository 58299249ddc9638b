/**
 * CLI command contract. Each command lives in src/cli/commands/NAME.ts and is listed in
 * src/cli/commands/index.ts. Exit codes (docs/cli.md): 0 ok, 1 failure, 2 usage error,
 * 3 daemon not reachable, 78 configuration error.
 */
import type { Writable } from 'node:stream';
import type { Config } from '../config/types.js';

export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, UNREACHABLE: 3, CONFIG: 78 } as const;
// eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- names the documented codes; commands may return others
export type ExitCode = (typeof EXIT)[keyof typeof EXIT] | number;

export interface ControlClient {
  /** Sends one request; resolves with `result` or rejects with a BulwarkError (code from the daemon, or BULWARK_ERR_UNREACHABLE). */
  call(cmd: string, args?: Record<string, unknown>): Promise<unknown>;
}

export interface CliContext {
  /** Global --json flag. */
  json: boolean;
  /** Global --config PATH (undefined: default path, which may not exist). */
  configPath: string | undefined;
  stdout: Writable;
  stderr: Writable;
  /**
   * stdout without the terminal escaping, for machine output a command writes without --json
   * (`bulwark events` prints JSON lines when stdout is not a terminal). Default: stdout.
   */
  machineStdout?: Writable;
  /** Client for the control socket named by the config. */
  control(): Promise<ControlClient>;
  /** Process environment (tests pass their own). Always set by src/cli/main.ts. */
  env?: NodeJS.ProcessEnv;
  /**
   * The validated configuration (file named by --config, /etc/bulwark/bulwark.yaml, or defaults;
   * env overrides applied). Loaded once. Rejects with BULWARK_ERR_CONFIG (exit 78). Always set by main.ts.
   */
  config?: () => Promise<Config>;
}

export interface CliCommand {
  /** First argv word, e.g. "blocked", "isolation", "db". */
  name: string;
  /** One line for `bulwark --help`. */
  summary: string;
  /** Full usage text for `bulwark NAME --help`. */
  usage: string;
  /** Returns the exit code. Throw BulwarkError('BULWARK_ERR_USAGE', …) for usage errors (exit 2). */
  run(ctx: CliContext, args: string[]): Promise<ExitCode>;
}
