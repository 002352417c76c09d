import { median } from '../../../../bench/harness.js';
import { ms, textTable } from '../../table.js';
import type { DemoSection } from '../section.js';

const TIMED_CALLS = 3;
/** Rewrites the planner prices above this multiple of the original are not timed (they could run for minutes). */
const MAX_TIMED_COST_RATIO = 2;

/** Before/after of every rewrite qopt found for the workload's queries: cost, measured time, proof. */
export const rewritesSection: DemoSection = {
  id: 'rewrites',
  title: 'Rewrites: before / after, proven or not',
  async render({ qo, workload, exampleParams }) {
    const data = [];
    for (const query of workload.queries) {
      const params = exampleParams.get(query.name) ?? [];
      const report = await qo.optimizeQuery(query.sql, params, { level: 3 });
      for (const rewrite of report.rewrites?.verified ?? []) {
        const time = async (sql: string, bound: readonly unknown[]) => {
          const samples: number[] = [];
          for (let call = 0; call < TIMED_CALLS; call += 1) {
            const started = performance.now();
            await qo.driver.query(sql, bound);
            samples.push(performance.now() - started);
          }
          return median(samples);
        };
        data.push({
          name: query.name,
          rules: rewrite.rules,
          sql: rewrite.sql,
          proven: rewrite.verdict.proven,
          reasons: rewrite.verdict.reasons,
          costBefore: rewrite.verdict.before.totalCost,
          costAfter: rewrite.verdict.after.totalCost,
          improvementPercent: rewrite.verdict.improvementPercent,
          sameRowsLive: rewrite.verdict.live.equal,
          sameRowsEdge: rewrite.verdict.edge.equal,
          compared: !rewrite.verdict.live.reason?.startsWith('not compared'),
          beforeMs: rewrite.verdict.costRatio <= MAX_TIMED_COST_RATIO ? await time(query.sql, params) : null,
          afterMs: rewrite.verdict.costRatio <= MAX_TIMED_COST_RATIO ? await time(rewrite.sql, rewrite.params) : null,
        });
      }
    }
    if (data.length === 0) return null;
    const rows = data.map((entry) => [
      entry.name,
      entry.rules.join(' + '),
      `${entry.costBefore.toFixed(0)} → ${entry.costAfter.toFixed(0)}`,
      `${entry.improvementPercent}%`,
      entry.beforeMs !== null && entry.afterMs !== null ? `${ms(entry.beforeMs)} → ${ms(entry.afterMs)}` : 'not timed',
      entry.compared ? `${entry.sameRowsLive ? 'yes' : 'NO'} / ${entry.sameRowsEdge ? 'yes' : 'NO'}` : 'not compared',
      entry.proven ? 'proven' : `suggestion: ${entry.reasons[0] ?? ''}`,
    ]);
    const text = textTable(['query', 'rewrite', 'planner cost', 'est. gain', 'ms (median)', 'same rows live/edge', 'status'], rows, new Set([0, 1, 6]));
    return { text, data };
  },
};
