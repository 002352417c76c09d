import type { SqlAnalysis } from '../sql/analyze.js';
import { parseStatements } from '../sql/parser.js';
import type { AstNode } from '../sql/parser.js';
import { Catalog } from './catalog.js';
import type { AnalyzerRule, Finding } from './rule.js';
import { analyzerRules } from './rules/index.js';

const SEVERITY_ORDER = { high: 0, medium: 1, low: 2, info: 3 } as const;

/** Runs every anti-pattern rule over every statement of an analyzed text; no database needed. */
export function findAntiPatterns(analysis: SqlAnalysis, catalog: Catalog = Catalog.empty(), rules: readonly AnalyzerRule[] = analyzerRules): Finding[] {
  return findingsOfTrees(analysis.statements.map((statement) => statement.ast), catalog, rules);
}

/** Parses a text and runs every rule: the analyzer's whole cost for a text it has not seen (no fingerprint, no references). */
export function findAntiPatternsInText(text: string, catalog: Catalog = Catalog.empty(), rules: readonly AnalyzerRule[] = analyzerRules): Finding[] {
  return findingsOfTrees(parseStatements(text).map((raw) => raw.stmt), catalog, rules);
}

function findingsOfTrees(trees: readonly AstNode[], catalog: Catalog, rules: readonly AnalyzerRule[]): Finding[] {
  const findings: Finding[] = [];
  trees.forEach((ast, index) => {
    for (const rule of rules) {
      for (const match of rule.match({ ast, catalog })) {
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
