import type { Command } from 'commander';
import { envOptions, loadConfig } from '../../config.js';
import { redactTarget } from '../../db/target.js';
import { printJson } from '../options.js';
import { textTable } from '../table.js';

function valueAt(config: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], config);
}

function display(path: string, value: unknown): string {
  if (value === undefined) return '(unset)';
  if (path === 'server.apiToken') return '***';
  if (typeof value === 'string' && /url$/i.test(path)) return redactTarget(value);
  return JSON.stringify(value);
}

/** `qopt config`: the effective configuration (defaults, environment) and the variables that set each option. */
export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('print the effective configuration and the environment variables (QOPT_* and the seed flag names) that set it')
    .option('--json', 'print the validated configuration as JSON (secrets redacted)')
    .action((options: { json?: boolean }) => {
      const config = loadConfig() as unknown as Record<string, unknown>;
      if (options.json) {
        const redacted = JSON.parse(JSON.stringify(config)) as Record<string, Record<string, unknown>>;
        if (redacted.server?.apiToken) redacted.server.apiToken = '***';
        for (const group of ['database', 'redis'] as const) {
          const url = redacted[group]?.url;
          if (typeof url === 'string') redacted[group]!.url = redactTarget(url);
        }
        printJson(redacted);
        return;
      }
      const rows = envOptions.map((option) => [option.path, display(option.path, valueAt(config, option.path)), option.names.join(', ')]);
      process.stdout.write(`${textTable(['option', 'value', 'environment'], rows, new Set([0, 1, 2]))}\n`);
    });
}
