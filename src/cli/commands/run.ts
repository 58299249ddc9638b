import { parseArgs } from '../args.js';
import { runDaemon } from '../../service/daemon.js';
import type { CliCommand } from '../types.js';

export const runCommand: CliCommand = {
  name: 'run',
  summary: 'run the daemon in the foreground',
  usage: [
    'Usage: bulwark run [--config PATH]',
    '',
    'Runs the protection daemon in the foreground (logs as JSON on stdout; pretty on a terminal).',
    'Without --config it reads /etc/bulwark/bulwark.yaml, or runs on built-in defaults when that',
    'file does not exist. SIGTERM/SIGINT stop it, SIGHUP reloads the configuration.',
    'Environment overrides: BULWARK_STATE_DIR, BULWARK_SOCKET, BULWARK_METRICS_LISTEN, BULWARK_LOG_LEVEL.',
  ].join('\n'),
  async run(ctx, args) {
    parseArgs(args, { command: 'run', maxPositionals: 0 });
    return runDaemon({ configPath: ctx.configPath, env: ctx.env ?? process.env, stderr: ctx.stderr });
  },
};
