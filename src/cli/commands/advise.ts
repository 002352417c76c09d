import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { adviseIndexes } from '../../advise/advisor.js';
import type { AdviceReport } from '../../advise/advisor.js';
import { applyRecommendations, cleanInvalidIndexes } from '../../advise/apply.js';
import { migrationSql } from '../../advise/migration.js';
import { hasPgStatStatements, workloadFromPgStatStatements, workloadFromSqlText } from '../../advise/workload.js';
import type { AdvisorQuery } from '../../advise/workload.js';
import type { Driver } from '../../db/driver.js';
import { openDriver } from '../../db/openDriver.js';
import { PgDriver } from '../../db/pgDriver.js';
import { UsageError } from '../../errors.js';
import { textTable } from '../table.js';
import { databaseUrlOf, positiveInteger, positiveNumber, printJson, withDatabaseOption } from '../options.js';

interface AdviseCliOptions {
  analyzeOnly?: boolean;
  dryRun?: boolean;
  apply?: boolean;
  budgetMb?: number;
  maxIndexes?: number;
  workload?: string;
  migration?: string;
  installHypopg?: boolean;
  minGain?: number;
  lockTimeoutMs?: number;
  database?: string;
  json?: boolean;
}

async function workloadOf(driver: Driver, file: string | undefined): Promise<AdvisorQuery[]> {
  if (file) return workloadFromSqlText(readFileSync(file, 'utf8'));
  if (await hasPgStatStatements(driver)) return workloadFromPgStatStatements(driver);
  throw new UsageError('no workload: give --workload file.sql (pg_stat_statements is not installed on this database)');
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

/** The advice as a person reads it. */
export function formatAdvice(report: AdviceReport): string {
  const lines = [
    `evaluated ${report.candidatesConsidered} candidate indexes with ${report.evaluator} (${report.confidence} confidence); predicted workload gain ${(report.predictedGain * 100).toFixed(1)} %`,
    '',
  ];
  if (report.recommendations.length === 0) lines.push('no index recommended');
  else {
    lines.push(textTable(
      ['#', 'index', 'est. MiB', 'HypoPG MiB', `benefit (${report.weightUnit})`, 'why'],
      report.recommendations.map((recommendation, index) => [
        String(index + 1), recommendation.definition, mib(recommendation.estimatedBytes),
        recommendation.hypopgBytes === null ? '—' : mib(recommendation.hypopgBytes), recommendation.benefit.toFixed(1), recommendation.origin,
      ]),
      new Set([1, 5]),
    ));
  }
  if (report.skipped.length > 0) {
    lines.push('', 'statements PostgreSQL could not plan (left out of the advice):');
    for (const statement of report.skipped) lines.push(`  ${statement.sql.replace(/\s+/g, ' ').slice(0, 90)}: ${statement.reason}`);
  }
  if (report.statistics.length > 0) {
    lines.push('', 'extended statistics (the planner assumes these columns independent; they are not):');
    lines.push(textTable(
      ['statistics', 'dependencies', 'rows estimated before → after'],
      report.statistics.map((statistics) => [
        statistics.definition,
        Object.entries(statistics.dependencies).map(([dependency, degree]) => `${dependency} ${degree.toFixed(2)}`).join('; '),
        statistics.queries.map((query) => `${query.estimatedRowsBefore} → ${query.estimatedRowsAfter}`).join(', '),
      ]),
    ));
  }
  lines.push('', textTable(
    ['query', 'cost before', 'cost after', 'execution share', 'predicted fall'],
    report.queries.map((query) => [
      (query.name ?? query.sql.replace(/\s+/g, ' ')).slice(0, 60), query.costBefore.toFixed(0), query.costAfter.toFixed(0),
      `${(query.executionShare * 100).toFixed(0)} %`, `${(query.predictedGain * 100).toFixed(1)} %`,
    ]),
  ));
  return `${lines.join('\n')}\n`;
}

/** `qopt advise`: index recommendations for the workload; --dry-run prints the SQL, --apply builds and validates. */
export function registerAdvise(program: Command): void {
  withDatabaseOption(
    program
      .command('advise')
      .description('recommend indexes for the whole workload (HypoPG what-if, budgets); --dry-run prints SQL, --apply builds, validates and rolls back')
      .option('--analyze-only', 'report recommendations and predicted gains only (the default)')
      .option('--dry-run', 'print the migration SQL that --apply would run')
      .option('--apply', 'CREATE INDEX CONCURRENTLY each, measure, drop again what gained < --min-gain or slowed a query')
      .option('--budget-mb <n>', 'maximum total size of the new indexes (estimated real bytes)', positiveNumber)
      .option('--max-indexes <n>', 'maximum number of new indexes', positiveInteger)
      .option('--workload <file.sql>', 'the workload as a SQL file (default: pg_stat_statements)')
      .option('--migration <file>', 'also write the migration to this file')
      .option('--install-hypopg', 'CREATE EXTENSION hypopg when it is available but not installed')
      .option('--min-gain <fraction>', 'validation: drop an index whose queries gained less (default 0.1)', positiveNumber)
      .option('--lock-timeout-ms <n>', 'lock_timeout of the concurrent builds (default 5000)', positiveInteger)
      .option('--json', 'print JSON'),
  ).action(async (options: AdviseCliOptions) => {
    const modes = [options.analyzeOnly, options.dryRun, options.apply].filter(Boolean).length;
    if (modes > 1) throw new UsageError('choose one of --analyze-only, --dry-run, --apply');
    const driver = await openDriver(databaseUrlOf(options));
    try {
      const workload = await workloadOf(driver, options.workload);
      const report = await adviseIndexes(driver, workload, {
        budget: { maxBytes: options.budgetMb === undefined ? null : options.budgetMb * 1048576, maxIndexes: options.maxIndexes },
        installHypopg: Boolean(options.installHypopg),
      });
      const migration = migrationSql(report, options.lockTimeoutMs);
      if (options.migration) writeFileSync(options.migration, migration);
      if (options.apply) {
        if (!(driver instanceof PgDriver)) throw new UsageError('--apply needs a PostgreSQL server (CREATE INDEX CONCURRENTLY)');
        const cleaned = await cleanInvalidIndexes(driver, options.lockTimeoutMs);
        const applied = await applyRecommendations(driver, report, workload, {
          minGain: options.minGain,
          lockTimeoutMs: options.lockTimeoutMs,
          log: (message) => process.stderr.write(`  ${message}\n`),
        });
        if (options.json) printJson({ report, cleaned, applied: applied.applied });
        else {
          process.stdout.write(formatAdvice(report));
          process.stdout.write(`\n${textTable(['index', 'status', 'before ms', 'after ms', 'measured fall', 'reason'], applied.applied.map((index) => [
            index.name, index.status, index.beforeMs.toFixed(1), index.afterMs.toFixed(1), `${(index.measuredGain * 100).toFixed(1)} %`, index.reason,
          ]), new Set([0, 1, 5]))}\n`);
        }
        return;
      }
      if (options.json) printJson(options.dryRun ? { report, migration } : report);
      else if (options.dryRun) process.stdout.write(migration);
      else process.stdout.write(formatAdvice(report));
    } finally {
      await driver.close();
    }
  });
}
