import type { Command } from 'commander';
import { Option } from 'commander';
import { SEVERITIES } from '../../advise/health/check.js';
import type { Severity } from '../../advise/health/check.js';
import { healthFails, runHealthChecks } from '../../advise/health/runHealth.js';
import { openDriver } from '../../db/openDriver.js';
import { textTable } from '../table.js';
import { databaseUrlOf, printJson, withDatabaseOption } from '../options.js';

/** `qopt health`: database health checks; exits 2 when a finding reaches --fail-on (for CI). */
export function registerHealth(program: Command): void {
  withDatabaseOption(
    program
      .command('health')
      .description('database health: redundant/unused/invalid indexes, unindexed FKs, bloat, stale stats, autovacuum, cache, sessions, connections, sequences')
      .addOption(new Option('--fail-on <severity>', 'exit with code 2 if any finding is at or above this severity').choices([...SEVERITIES]).default('critical'))
      .option('--schema <name...>', 'schemas to check (default: the search_path)')
      .option('--check <id...>', 'run only these checks')
      .option('--json', 'print JSON'),
  ).action(async (options: { failOn: Severity; schema?: string[]; check?: string[]; database?: string; json?: boolean }) => {
    const driver = await openDriver(databaseUrlOf(options));
    try {
      const report = await runHealthChecks(driver, { schemas: options.schema, checks: options.check });
      if (options.json) printJson(report);
      else {
        process.stdout.write(report.findings.length === 0 ? `no findings in ${report.schemas.join(', ')}\n` : `${textTable(
          ['severity', 'check', 'object', 'finding', 'remediation'],
          report.findings.map((finding) => [finding.severity, finding.check, finding.object, finding.message, finding.remediation ?? '—']),
          new Set([0, 1, 2, 3, 4]),
        )}\n`);
        for (const skipped of report.skipped) process.stdout.write(`skipped ${skipped.check}: ${skipped.reason}\n`);
      }
      if (healthFails(report, options.failOn)) process.exitCode = 2;
    } finally {
      await driver.close();
    }
  });
}
