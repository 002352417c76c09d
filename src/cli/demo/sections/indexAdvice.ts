import { adviseRecordedWorkload } from '../../../advise/forOptimizer.js';
import { measureQuery } from '../../../advise/apply.js';
import { quoteIdentifier } from '../../../advise/indexCandidate.js';
import type { Driver } from '../../../db/driver.js';
import { textTable } from '../../table.js';
import type { DemoSection } from '../section.js';

const REPETITIONS = 3;

interface Trial {
  name: string;
  definition: string;
  estimatedMiB: number;
  predictedFall: number;
  measuredFall: number | null;
  beforeMs: number;
  afterMs: number;
}

async function timeQueries(driver: Driver, queries: Array<{ sql: string; params: unknown[] }>): Promise<number> {
  let total = 0;
  for (const query of queries) {
    total += await measureQuery(driver, { fingerprint: '', name: null, sql: query.sql, calls: 1, totalMs: null, paramSamples: [query.params] }, REPETITIONS);
  }
  return total;
}

/**
 * The advisor on the demo's recorded workload, each recommendation tried for real: its queries
 * timed, the index built, timed again, and dropped — the demo database is left as it was.
 */
export const indexAdviceSection: DemoSection = {
  id: 'advise',
  title: 'Index advisor: recommendations, predicted and measured gains (trial builds, dropped afterwards)',
  async render({ qo, queryNames, exampleParams, workload }) {
    const samples = new Map<string, unknown[][]>();
    const statements = new Map<string, { sql: string; params: unknown[] }>();
    for (const [fingerprint, name] of queryNames) {
      const params = exampleParams.get(name);
      const sql = workload.queries.find((query) => query.name === name)?.sql ?? workload.loops.find((loop) => loop.name === name)?.query;
      if (params && sql) {
        samples.set(fingerprint, [params]);
        statements.set(fingerprint, { sql, params });
      }
    }
    const report = await adviseRecordedWorkload(qo, {}, samples);
    if (report.recommendations.length === 0) return null;
    const trials: Trial[] = [];
    for (const recommendation of report.recommendations) {
      const affected = recommendation.queries.map((fingerprint) => statements.get(fingerprint)).filter((entry) => entry !== undefined);
      const predicted = report.queries.filter((query) => recommendation.queries.includes(query.fingerprint));
      const weight = predicted.reduce((sum, query) => sum + query.weight, 0);
      const predictedFall = weight > 0 ? predicted.reduce((sum, query) => sum + query.weight * query.predictedGain, 0) / weight : 0;
      const beforeMs = await timeQueries(qo.driver, affected);
      await qo.driver.exec(recommendation.definition.replace('CREATE INDEX CONCURRENTLY', 'CREATE INDEX'));
      const afterMs = await timeQueries(qo.driver, affected);
      await qo.driver.exec(`DROP INDEX IF EXISTS ${quoteIdentifier(recommendation.name)}`);
      trials.push({
        name: recommendation.name,
        definition: recommendation.definition,
        estimatedMiB: recommendation.estimatedBytes / 1048576,
        predictedFall,
        measuredFall: beforeMs > 0 ? 1 - afterMs / beforeMs : null,
        beforeMs,
        afterMs,
      });
    }
    const text = [
      `evaluator: ${report.evaluator} (${report.confidence} confidence), ${report.candidatesConsidered} candidates; predicted workload fall ${(report.predictedGain * 100).toFixed(1)} %`,
      textTable(
        ['index', 'est. MiB', 'predicted fall', 'measured fall', 'before ms', 'after ms'],
        trials.map((trial) => [
          trial.definition.replace('CREATE INDEX CONCURRENTLY ', ''),
          trial.estimatedMiB.toFixed(1),
          `${(trial.predictedFall * 100).toFixed(1)} %`,
          trial.measuredFall === null ? '—' : `${(trial.measuredFall * 100).toFixed(1)} %`,
          trial.beforeMs.toFixed(2),
          trial.afterMs.toFixed(2),
        ]),
      ),
    ].join('\n');
    return { text, data: { report: { ...report, queries: report.queries }, trials } };
  },
};
