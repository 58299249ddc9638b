/**
 * `bulwark` entry point: global flags (--json, --config PATH, --help, --version) anywhere before
 * `--`, then a command from src/cli/commands/index.ts. Exit codes: docs/cli.md.
 */
import type { Writable } from 'node:stream';
import { BulwarkError, errorMessage, isBulwarkError } from '../errors.js';
import { VERSION } from '../version.js';
import { loadConfig } from '../config/load.js';
import { formatIssue, type ConfigIssue } from '../config/parse.js';
import type { Config } from '../config/types.js';
import { connectControl } from '../service/control-client.js';
import { commands } from './commands/index.js';
import { escapeText, humanStream } from './output.js';
import { EXIT, type CliCommand, type CliContext, type ControlClient, type ExitCode } from './types.js';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export function exitCodeFor(e: unknown): ExitCode {
  if (!isBulwarkError(e)) return EXIT.FAILURE;
  switch (e.code) {
    case 'BULWARK_ERR_USAGE':
      return EXIT.USAGE;
    case 'BULWARK_ERR_UNREACHABLE':
      return EXIT.UNREACHABLE;
    case 'BULWARK_ERR_CONFIG':
      return EXIT.CONFIG;
    default:
      return EXIT.FAILURE;
  }
}

export function helpText(): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`);
  return [
    `bulwark ${VERSION} — network threat protection and network isolation for Linux hosts`,
    '',
    'Usage: bulwark [--config PATH] [--json] COMMAND [ARGS...]',
    '',
    'Commands:',
    ...lines,
    '',
    'Global flags (accepted anywhere):',
    '  --config PATH  configuration file (default /etc/bulwark/bulwark.yaml; built-in defaults when absent)',
    '  --json         machine-readable output on stdout',
    '  --help, -h     help for bulwark or for a command',
    '  --version, -V  print the version',
    '',
    'Exit codes: 0 ok, 1 failure, 2 usage error, 3 daemon not reachable, 78 configuration error.',
    'Run `bulwark COMMAND --help` for a command\'s usage. Documentation: docs/cli.md',
  ].join('\n');
}

interface Globals {
  json: boolean;
  configPath: string | undefined;
  help: boolean;
  version: boolean;
  command: CliCommand | undefined;
  rest: string[];
}

function parseGlobals(argv: readonly string[]): Globals {
  const g: Globals = { json: false, configPath: undefined, help: false, version: false, command: undefined, rest: [] };
  let commandName: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      g.rest.push(...argv.slice(i));
      break;
    }
    if (a === '--json') g.json = true;
    else if (a === '--help' || a === '-h') g.help = true;
    else if (a === '--version' || a === '-V') g.version = true;
    else if (a === '--config' || a.startsWith('--config=')) {
      const v = a === '--config' ? argv[++i] : a.slice('--config='.length);
      if (v === undefined || v === '') throw new BulwarkError('BULWARK_ERR_USAGE', 'flag --config needs a path (see `bulwark --help`)');
      g.configPath = v;
    } else if (commandName === undefined) {
      if (a.startsWith('-')) throw new BulwarkError('BULWARK_ERR_USAGE', `unknown flag ${a} (see \`bulwark --help\`)`);
      commandName = a;
      g.command = commands.find((c) => c.name === a);
      if (!g.command) throw new BulwarkError('BULWARK_ERR_USAGE', `unknown command "${a}" (see \`bulwark --help\`)`);
    } else g.rest.push(a);
  }
  return g;
}

/** Runs one CLI invocation and returns its exit code (testable without a process). */
export async function runCli(argv: readonly string[], rawIo: CliIo): Promise<ExitCode> {
  let json = argv.includes('--json');
  // Human output goes through the terminal escaping (src/cli/output.ts); --json stdout is JSON
  // already (stderr keeps carrying human notices then, so it stays escaped).
  const human: CliIo = { ...rawIo, stdout: humanStream(rawIo.stdout), stderr: humanStream(rawIo.stderr) };
  let io = json ? { ...human, stdout: rawIo.stdout } : human;
  try {
    const g = parseGlobals(argv);
    json = g.json;
    io = json ? { ...human, stdout: rawIo.stdout } : human;
    if (g.version && !g.command) {
      io.stdout.write(g.json ? JSON.stringify({ version: VERSION, node: process.version }) + '\n' : `bulwark ${VERSION}\n`);
      return EXIT.OK;
    }
    if (!g.command) {
      if (g.help) {
        io.stdout.write(helpText() + '\n');
        return EXIT.OK;
      }
      io.stderr.write(helpText() + '\n');
      return EXIT.USAGE;
    }
    if (g.help) {
      io.stdout.write(g.command.usage.trimEnd() + '\n');
      return EXIT.OK;
    }
    let cachedConfig: Promise<{ config: Config }> | undefined;
    const config = (): Promise<Config> => {
      cachedConfig ??= loadConfig(g.configPath, io.env);
      return cachedConfig.then((c) => c.config);
    };
    const ctx: CliContext = {
      json: g.json,
      configPath: g.configPath,
      stdout: io.stdout,
      machineStdout: rawIo.stdout,
      stderr: io.stderr,
      env: io.env,
      config,
      async control(): Promise<ControlClient> {
        // BULWARK_SOCKET names the socket without reading the config file, so status and
        // reload keep working while the file on disk is broken (the daemon runs on the old one).
        const fromEnv = io.env.BULWARK_SOCKET;
        if (fromEnv !== undefined && fromEnv !== '') return connectControl(fromEnv);
        const cfg = await config();
        return connectControl(cfg.control.socket);
      },
    };
    return await g.command.run(ctx, g.rest);
  } catch (e) {
    const code = exitCodeFor(e);
    if (json && isBulwarkError(e)) {
      rawIo.stderr.write(JSON.stringify({ error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } }) + '\n');
    } else {
      io.stderr.write(humanError(e));
      if (!isBulwarkError(e) && e instanceof Error && e.stack) io.stderr.write(e.stack + '\n');
    }
    return code;
  }
}

/**
 * "bulwark: MESSAGE" lines. A config error lists its issues one per line, each field escaped on
 * its own: a line break inside a key or value from the file cannot pass for another issue.
 */
export function humanError(e: unknown): string {
  const issues = isBulwarkError(e) ? e.details?.errors : undefined;
  if (Array.isArray(issues) && issues.length > 0 && issues.every((i): i is ConfigIssue => typeof i === 'object' && i !== null && 'path' in i && 'message' in i && 'file' in i)) {
    return issues.map((i) => `bulwark: ${escapeText(i.line > 0 ? formatIssue(i) : `config ${i.file}: ${i.path}: ${i.message}`)}\n`).join('');
  }
  return `bulwark: ${escapeText(errorMessage(e), { keepNewlines: true })}\n`;
}

export async function main(argv: string[]): Promise<void> {
  // `bulwark scan x.pcap --json | head`: the reader went away. Like any Unix filter, stop quietly
  // (exit 0 as SIGPIPE-less tools do) instead of an unhandled EPIPE stack trace.
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  const code = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env });
  process.exitCode = code;
  // Long-lived commands (`run`) may leave handles behind (capture, timers): do not hang on them.
  setTimeout(() => process.exit(code), 3000).unref();
}
