import type { Driver } from '../db/driver.js';
import type { RewriteCandidate } from '../rewrite/rewriter.js';
import { rewriteStatement } from '../rewrite/rewriter.js';
import type { RewriteVerdict } from '../rewrite/verify.js';
import { verifyRewrite } from '../rewrite/verify.js';
import { analyzeSql } from '../sql/analyze.js';
import { Catalog, loadCatalog } from './catalog.js';
import { costEstimate } from './cost.js';
import type { CostEstimate } from './cost.js';
import { findAntiPatterns } from './findings.js';
import { planFindings } from './planFindings.js';
import type { PlanFinding } from './planFindings.js';
import type { Finding } from './rule.js';

/** How far an analysis goes: 0 off, 1 static rules, 2 + plan findings, 3 + rewrites with verification. */
export type OptimizationLevel = 0 | 1 | 2 | 3;

/** Options of one analysis. */
export interface QueryAnalysisOptions {
  level: OptimizationLevel;
  /** Stop starting new stages after this long (config `optimization.maxOptimizationTimeMs`). */
  maxTimeMs: number;
  /** Config `optimization.maxRewriteCostRatio`. */
  maxRewriteCostRatio: number;
  /** EXPLAIN (ANALYZE, BUFFERS) in a rolled-back transaction instead of a plain EXPLAIN. */
  analyze?: boolean;
}

/** A rewrite candidate with its proof (or the reason it is not proven). */
export interface VerifiedRewrite extends RewriteCandidate {
  verdict: RewriteVerdict;
}

/** Everything qopt can say about one query at the requested level. */
export interface QueryReport {
  sql: string;
  fingerprint: string;
  level: OptimizationLevel;
  findings: Finding[];
  plan: { cost: CostEstimate; findings: PlanFinding[]; analyzed: boolean } | null;
  rewrites: {
    verified: VerifiedRewrite[];
    refusals: Array<{ rule: string; reason: string }>;
    suggestions: Array<{ rule: string; sql: string; notes: string[] }>;
    /** The cheapest proven rewrite, if any. */
    best: VerifiedRewrite | null;
    /**
     * The cheapest rewrite proven once its proposed indexes exist (HypoPG cost, same rows on edge-case data with them),
     * when it is cheaper than `best`: apply its `verdict.supportingIndexes.statements`, then analyze again.
     */
    bestWithIndexes: VerifiedRewrite | null;
  } | null;
  /** The stage the time budget cut off, or null. */
  truncated: string | null;
  elapsedMs: number;
}

/** Analyzes a query: static rules (with the live catalog when a driver is given), plan findings, proven rewrites. */
export async function analyzeQuery(driver: Driver | null, sql: string, params: readonly unknown[], options: QueryAnalysisOptions): Promise<QueryReport> {
  const started = performance.now();
  const analysis = analyzeSql(sql);
  const overBudget = () => performance.now() - started > options.maxTimeMs;
  const report: QueryReport = { sql, fingerprint: analysis.fingerprint, level: options.level, findings: [], plan: null, rewrites: null, truncated: null, elapsedMs: 0 };
  const finish = () => ({ ...report, elapsedMs: performance.now() - started });
  if (options.level === 0) return finish();
  const catalog = driver ? await loadCatalog(driver, analysis.readTables) : Catalog.empty();
  report.findings = findAntiPatterns(analysis, catalog);
  if (options.level < 2 || !driver || analysis.kind !== 'read') return finish();
  if (overBudget()) return { ...finish(), truncated: 'plan' };
  const explain = await driver.explain(sql, params, options.analyze ? { analyze: true, buffers: true } : {});
  report.plan = { cost: costEstimate(explain), findings: planFindings(explain), analyzed: options.analyze === true };
  if (options.level < 3) return finish();
  const plan = rewriteStatement(sql, params, catalog);
  report.rewrites = { verified: [], refusals: plan.refusals, suggestions: plan.suggestions, best: null, bestWithIndexes: null };
  for (const candidate of plan.candidates) {
    if (overBudget()) return { ...finish(), truncated: 'rewrite verification' };
    const verdict = await verifyRewrite(driver, catalog, { sql, params }, candidate, { maxCostRatio: options.maxRewriteCostRatio });
    report.rewrites.verified.push({ ...candidate, verdict });
  }
  const proven = report.rewrites.verified.filter((rewrite) => rewrite.verdict.proven).sort((a, b) => a.verdict.after.totalCost - b.verdict.after.totalCost);
  report.rewrites.best = proven[0] ?? null;
  const costWithIndexes = (rewrite: VerifiedRewrite) => rewrite.verdict.supportingIndexes?.after?.totalCost ?? Number.POSITIVE_INFINITY;
  const withIndexes = report.rewrites.verified.filter((rewrite) => rewrite.verdict.supportingIndexes?.provenWithIndexes).sort((a, b) => costWithIndexes(a) - costWithIndexes(b));
  const bestCost = report.rewrites.best?.verdict.after.totalCost ?? Number.POSITIVE_INFINITY;
  report.rewrites.bestWithIndexes = withIndexes[0] && costWithIndexes(withIndexes[0]) < bestCost ? withIndexes[0] : null;
  return finish();
}
