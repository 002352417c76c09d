import type { SqlAnalysis } from '../sql/analyze.js';
import { Catalog } from './catalog.js';
import type { AnalyzerRule, Finding } from './rule.js';
import { analyzerRules } from './rules/index.js';

const SEVERITY_ORDER = { high: 0, medium: 1, low: 2, info: 3 } as const;

/** Runs every anti-pattern rule over every statement of an analyzed text; no database needed. */
export function findAntiPatterns(analysis: SqlAnalysis, catalog: Catalog = Catalog.empty(), rules: readonly AnalyzerRule[] = analyzerRules): Finding[] {
  const findings: Finding[] = [];
  analysis.statements.forEach((statement, index) => {
    for (const rule of rules) {
      for (const match of rule.match({ analysis, statement, catalog })) {
        findings.push({
          rule: rule.id,
          severity: rule.severity,
          description: rule.description,
          detail: match.detail,
          explanation: rule.explanation,
          fix: rule.fix,
          statement: index,
        });
      }
    }
  });
  return findings.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
}
