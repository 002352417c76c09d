import type { AdviceReport } from './advisor.js';
import { quoteIdentifier, quoteQualified } from './indexCandidate.js';

/**
 * The recommendations as a migration for users who apply through their own tool: one
 * `CREATE INDEX CONCURRENTLY IF NOT EXISTS` per index (outside a transaction), a lock timeout,
 * and the matching down migration as comments.
 */
export function migrationSql(report: AdviceReport, lockTimeoutMs = 5000): string {
  const lines = [
    `-- qopt advise: ${report.recommendations.length} index(es) and ${report.statistics.length} extended statistics, evaluated by ${report.evaluator} (${report.confidence} confidence)`,
    `-- predicted workload gain: ${(report.predictedGain * 100).toFixed(1)} %`,
    '-- CREATE INDEX CONCURRENTLY cannot run inside a transaction block: run this file without one.',
    `SET lock_timeout = '${lockTimeoutMs}ms';`,
    '',
  ];
  for (const recommendation of report.recommendations) {
    lines.push(`-- ${recommendation.origin}; estimated size ${(recommendation.estimatedBytes / 1048576).toFixed(1)} MiB`);
    lines.push(`${recommendation.definition.replace('CREATE INDEX CONCURRENTLY ', 'CREATE INDEX CONCURRENTLY IF NOT EXISTS ')};`);
    lines.push('');
  }
  for (const statistics of report.statistics) {
    lines.push(`-- extended statistics: ${Object.entries(statistics.dependencies).map(([dependency, degree]) => `${dependency} (${degree.toFixed(2)})`).join(', ')}`);
    lines.push(`${statistics.definition};`, `ANALYZE ${quoteQualified(statistics.table)};`, '');
  }
  lines.push('-- down:');
  for (const recommendation of report.recommendations) lines.push(`-- DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdentifier(recommendation.name)};`);
  for (const statistics of report.statistics) lines.push(`-- DROP STATISTICS IF EXISTS ${quoteIdentifier(statistics.name)};`);
  return `${lines.join('\n')}\n`;
}
