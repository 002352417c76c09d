import type { QueryReport, VerifiedRewrite } from '../analyze/queryAnalyzer.js';
import type { Finding } from '../analyze/rule.js';
import { UsageError } from '../errors.js';

/** Parses `--params '[1, "a"]'` into the statement's bound parameters. */
export function parseParams(text: string | undefined): unknown[] {
  if (text === undefined) return [];
  try {
    const value = JSON.parse(text) as unknown;
    if (Array.isArray(value)) return value;
  } catch {
    // Falls through to the usage error below, which says what is expected.
  }
  throw new UsageError(`--params must be a JSON array, e.g. '[1, "abc"]'; got ${text}`);
}

/** Anti-pattern findings for a person: the finding, why it matters, the fix. */
export function formatFindings(findings: readonly Finding[]): string[] {
  if (findings.length === 0) return ['findings:    none'];
  const lines = ['findings:'];
  for (const finding of findings) {
    lines.push(`  [${finding.severity}] ${finding.rule}: ${finding.detail}`);
    lines.push(`      why: ${finding.explanation}`);
    lines.push(`      fix: ${finding.fix}`);
  }
  return lines;
}

/** Plan findings and the planner's cost. */
export function formatPlan(report: QueryReport): string[] {
  if (!report.plan) return [];
  const { cost } = report.plan;
  const lines = [`plan:        cost ${cost.totalCost.toFixed(1)}, ${cost.estimatedRows} rows estimated${cost.actualRows !== null ? `, ${cost.actualRows} actual` : ''}${cost.executionTimeMs !== null ? `, ${cost.executionTimeMs.toFixed(2)} ms (rolled back)` : ''}`];
  for (const finding of report.plan.findings) lines.push(`  ${finding.id} at ${finding.node}: ${finding.detail}`, `      fix: ${finding.fix}`);
  return lines;
}

/** One verified rewrite: the SQL, the proof or the reasons it is not proven. */
export function formatRewrite(rewrite: VerifiedRewrite): string[] {
  const { verdict } = rewrite;
  return [
    `rewrite (${rewrite.rules.join(' + ')}): ${verdict.proven ? 'PROVEN' : 'not proven — stays a suggestion'}`,
    `  ${rewrite.sql}`,
    ...rewrite.notes.map((note) => `  note: ${note}`),
    `  planner cost ${verdict.before.totalCost.toFixed(1)} → ${verdict.after.totalCost.toFixed(1)} (ratio ${verdict.costRatio.toFixed(3)}, estimated improvement ${verdict.improvementPercent}%)`,
    verdict.edge.reason?.startsWith('not compared')
      ? '  rows not compared (the cost test failed first)'
      : `  same rows: live ${verdict.live.reason?.startsWith('not compared') ? 'not compared' : verdict.live.equal ? 'yes' : 'NO'} (${verdict.live.rows} rows), generated edge cases ${verdict.edge.equal ? 'yes' : 'NO'} (${verdict.edge.rows} rows)`,
    ...verdict.reasons.map((reason) => `  why not: ${reason}`),
    ...formatSupportingIndexes(verdict),
  ];
}

/** The index proposal a rewrite comes with: its statements, the cost with it, and whether the rewrite is proven then. */
function formatSupportingIndexes(verdict: VerifiedRewrite['verdict']): string[] {
  const supporting = verdict.supportingIndexes;
  if (!supporting) return [];
  const cost = supporting.before && supporting.after && supporting.costRatio !== null
    ? `planner cost with it (HypoPG estimate): original ${supporting.before.totalCost.toFixed(1)} → rewrite ${supporting.after.totalCost.toFixed(1)} (ratio ${supporting.costRatio.toFixed(3)}; rewrite + index vs today ${supporting.costRatioToToday?.toFixed(3)})`
    : `cost with it unknown: ${supporting.reason ?? ''}`;
  const outcome = supporting.provenWithIndexes ? 'PROVEN once the index exists (same rows on edge-case data with it built)' : `not proven with it${supporting.after && supporting.reason ? `: ${supporting.reason}` : ''}`;
  return [...supporting.statements.map((statement) => `  proposed index: ${statement}`), `  ${cost}`, `  with the index: ${outcome}`];
}
