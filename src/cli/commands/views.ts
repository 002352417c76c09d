import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { measureQuery } from '../../advise/apply.js';
import { hasPgStatStatements, workloadFromPgStatStatements, workloadFromSqlText } from '../../advise/workload.js';
import { openDriver } from '../../db/openDriver.js';
import { UsageError } from '../../errors.js';
import { MaterializedViewManager } from '../../views/materializedViews.js';
import { recommendViews } from '../../views/recommendViews.js';
import { textTable } from '../table.js';
import { databaseUrlOf, positiveInteger, printJson, withDatabaseOption } from '../options.js';

/** `qopt views`: materialized views for hot aggregate / "latest" queries; --create builds them on request. */
export function registerViews(program: Command): void {
  withDatabaseOption(
    program
      .command('views')
      .description('recommend materialized views for hot aggregate and "latest row" queries; --create builds them (unique index, concurrent refresh)')
      .option('--workload <file.sql>', 'the workload as a SQL file (default: pg_stat_statements)')
      .option('--create', 'create the recommended views')
      .option('--max-staleness-ms <n>', 'freshness bound: past it reads fall back to the base query', positiveInteger, 60_000)
      .option('--json', 'print JSON'),
  ).action(async (options: { workload?: string; create?: boolean; maxStalenessMs: number; database?: string; json?: boolean }) => {
    const driver = await openDriver(databaseUrlOf(options));
    try {
      let workload;
      if (options.workload) workload = workloadFromSqlText(readFileSync(options.workload, 'utf8'));
      else if (await hasPgStatStatements(driver)) workload = await workloadFromPgStatStatements(driver);
      else throw new UsageError('no workload: give --workload file.sql (pg_stat_statements is not installed on this database)');
      const specs = recommendViews(workload, { maxStalenessMs: options.maxStalenessMs });
      const measured: Array<{ name: string; reason: string; baseMs: number | null; viewMs: number | null }> = [];
      const manager = new MaterializedViewManager(driver, { refreshAfterWritesMs: null });
      for (const spec of specs) {
        let baseMs: number | null = null;
        let viewMs: number | null = null;
        if (options.create) {
          await manager.create(spec);
          if (!/\$\d/.test(spec.baseSql)) {
            const sample = { fingerprint: spec.name, name: spec.name, calls: 1, totalMs: null, paramSamples: [] };
            baseMs = await measureQuery(driver, { ...sample, sql: spec.baseSql }, 3);
            viewMs = await measureQuery(driver, { ...sample, sql: spec.viewSql }, 3);
          }
        }
        measured.push({ name: spec.name, reason: spec.reason, baseMs, viewMs });
      }
      manager.close();
      if (options.json) printJson({ views: specs, measured });
      else if (specs.length === 0) process.stdout.write('no materialized view recommended\n');
      else {
        process.stdout.write(`${textTable(['view', 'why', 'base ms', 'view ms'], measured.map((entry) => [entry.name, entry.reason, entry.baseMs?.toFixed(2) ?? '—', entry.viewMs?.toFixed(2) ?? '—']), new Set([0, 1]))}\n`);
        if (!options.create) for (const spec of specs) process.stdout.write(`\n-- ${spec.name}\nCREATE MATERIALIZED VIEW ${spec.name} AS ${spec.definition};\nCREATE UNIQUE INDEX ${spec.name}_key ON ${spec.name} (${spec.uniqueKey.join(', ')});\n`);
      }
    } finally {
      await driver.close();
    }
  });
}
