import { describe, expect, it } from 'vitest';
import type { PlanNode } from '../../src/db/driver.js';
import { ComplexityScores, complexityScore, largestEstimatedRows } from '../../src/monitor/complexity.js';
import { analyzeSql } from '../../src/sql/analyze.js';

function node(type: string, rows: number, children: PlanNode[] = []): PlanNode {
  return { 'Node Type': type, 'Total Cost': 100, 'Startup Cost': 0, 'Plan Rows': rows, 'Plan Width': 8, Plans: children };
}

describe('complexity score from a plan', () => {
  it('counts the largest estimated row count of any node, not the root estimate of one aggregated row', () => {
    const aggregate = node('Aggregate', 1, [node('Hash Join', 800, [node('Seq Scan', 50_000), node('Hash', 200, [node('Seq Scan', 200)])])]);
    expect(largestEstimatedRows(aggregate)).toBe(50_000);
    const score = complexityScore(analyzeSql('SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id'), aggregate);
    expect(score.factors).toContainEqual({ factor: 'largest estimated rows (log10)', count: 50_000, points: Math.log10(50_001) });
    expect(score.fromPlan).toBe(true);
    expect(complexityScore(analyzeSql('SELECT 1')).fromPlan).toBe(false);
  });
});

describe('complexity scores per fingerprint', () => {
  it('computes a fingerprint once, replaces it with the plan-aware score, and gives null for a text that does not analyze', () => {
    let analyses = 0;
    const scores = new ComplexityScores((sql) => {
      analyses += 1;
      return analyzeSql(sql);
    });
    const first = scores.of('f1', 'SELECT * FROM people WHERE id = $1');
    expect(scores.of('f1', 'SELECT * FROM people WHERE id = $1')).toBe(first);
    expect(analyses).toBe(1);
    const planned = scores.withPlan('f1', 'SELECT * FROM people WHERE id = $1', node('Seq Scan', 20_000));
    expect(planned!.fromPlan).toBe(true);
    expect(scores.of('f1', 'SELECT * FROM people WHERE id = $1')).toBe(planned);
    expect(scores.of('bad', 'SELEC nonsense')).toBeNull();
    expect(scores.analysisFailures).toBe(1);
  });

  it('keeps at most its capacity, dropping the oldest score', () => {
    let analyses = 0;
    const scores = new ComplexityScores((sql) => {
      analyses += 1;
      return analyzeSql(sql);
    }, 2);
    scores.of('a', 'SELECT 1');
    scores.of('b', 'SELECT 2');
    scores.of('c', 'SELECT 3');
    scores.of('b', 'SELECT 2');
    expect(analyses).toBe(3);
    scores.of('a', 'SELECT 1');
    expect(analyses).toBe(4);
  });
});
