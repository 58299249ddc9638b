import { parseArgs, usageError } from '../args.js';
import { printJson, printKeyValues } from '../output.js';
import { installedRulesFile } from '../../rules/installed.js';
import { EXIT, type CliCommand } from '../types.js';
import { loadConfig } from '../../config/load.js';
import { checkRuntime } from '../../config/runtime.js';
import { toJsonSchema } from '../../config/json-schema.js';
import { renderExampleConfig } from '../../config/example.js';

export const configCommand: CliCommand = {
  name: 'config',
  summary: 'check or show the configuration, print its schema or example (no daemon needed)',
  usage: [
    'Usage: bulwark config check  [--config PATH] [--json]',
    '       bulwark config show   [--config PATH] [--json]',
    '       bulwark config paths  [--config PATH] [--json]',
    '       bulwark config schema',
    '       bulwark config example',
    '',
    'check  validates the file (/etc/bulwark/bulwark.yaml, --config PATH, or built-in defaults)',
    '       and the runtime (interfaces exist, nft installed). Exit 0 when valid, 78 otherwise,',
    '       with every problem as FILE:LINE:COLUMN: KEY: PROBLEM.',
    'show   prints the effective configuration (defaults merged, environment overrides',
    '       applied; durations in ms, sizes in bytes) as JSON.',
    'paths  where the daemon serves metrics, its control socket, event file, state and installed',
    '       rules (`make run` prints this before starting the daemon).',
    'schema prints the JSON Schema of the file (docs/schema/config.schema.json).',
    'example prints the example configuration with every key and default (packaging/bulwark.yaml).',
  ].join('\n'),
  async run(ctx, args) {
    const { positionals } = parseArgs(args, { command: 'config', minPositionals: 1, maxPositionals: 1 });
    const sub = positionals[0];
    if (sub === 'schema') {
      ctx.stdout.write(JSON.stringify(toJsonSchema(), null, 2) + '\n');
      return EXIT.OK;
    }
    if (sub === 'example') {
      ctx.stdout.write(renderExampleConfig());
      return EXIT.OK;
    }
    if (sub !== 'check' && sub !== 'show' && sub !== 'paths') throw usageError(`unknown subcommand "${sub ?? ''}"`, 'config');
    const loaded = await loadConfig(ctx.configPath, ctx.env ?? process.env);
    if (sub === 'paths') {
      const c = loaded.config;
      const p = {
        config: loaded.path ?? null,
        metrics: c.metrics.enabled ? `http://${c.metrics.listen}/metrics` : null,
        socket: c.control.socket,
        events: c.events.file === '' ? null : c.events.file,
        stateDir: c.stateDir,
        rules: installedRulesFile(c),
      };
      if (ctx.json) printJson(ctx.stdout, p);
      else {
        printKeyValues(ctx.stdout, [
          ['configuration', p.config ?? 'built-in defaults'],
          ['metrics', p.metrics === null ? 'off (metrics.enabled: false)' : `${p.metrics}   (Prometheus: packaging/prometheus/prometheus.yml)`],
          ['control socket', `${p.socket}   (bulwark status)`],
          ['events', p.events === null ? 'only in the log (events.file: "")' : `${p.events}   (bulwark events --follow)`],
          ['state', p.stateDir],
          ['installed rules', `${p.rules}   (bulwark rules update)`],
        ]);
      }
      return EXIT.OK;
    }
    if (sub === 'show') {
      printJson(ctx.stdout, loaded.config);
      return EXIT.OK;
    }
    const issues = await checkRuntime(loaded.config);
    const errors = issues.filter((i) => i.severity === 'error');
    const source = loaded.path ?? 'built-in defaults';
    if (ctx.json) {
      printJson(ctx.stdout, { valid: errors.length === 0, file: loaded.path ?? null, issues });
    } else {
      for (const i of issues) ctx.stderr.write(`bulwark: ${i.severity}: ${source}: ${i.path}: ${i.message}\n`);
      if (errors.length === 0) ctx.stdout.write(`${source}: configuration valid\n`);
    }
    return errors.length === 0 ? EXIT.OK : EXIT.CONFIG;
  },
};
