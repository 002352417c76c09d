import { deparseSync } from 'pgsql-deparser';
import { candidateSignature } from '../advise/indexCandidate.js';
import type { IndexCandidate } from '../advise/indexCandidate.js';
import { cloneAst } from '../analyze/ast.js';
import type { Catalog } from '../analyze/catalog.js';
import { analyzeSql } from '../sql/analyze.js';
import type { AstNode } from '../sql/parser.js';
import type { RewriteRule } from './rule.js';
import { rewriteRules } from './rules/index.js';

/** A rewritten statement: not yet proven (see `verifyRewrite`). */
export interface RewriteCandidate {
  /** The rules applied, in order. */
  rules: string[];
  sql: string;
  params: unknown[];
  /** What the rewrite must equal: the original, with any tie-breaker the rules added to its window order. */
  referenceSql: string;
  notes: string[];
  /** Indexes the rewrite needs to be served without a sort (proposals the user applies; absent when none is needed). */
  supportingIndexes?: IndexCandidate[];
}

/** What the rewriter made of a statement. */
export interface RewritePlan {
  candidates: RewriteCandidate[];
  refusals: Array<{ rule: string; reason: string }>;
  suggestions: Array<{ rule: string; sql: string; notes: string[] }>;
}

function print(ast: AstNode): string {
  return deparseSync(ast, { pretty: false });
}

/** Runs one chain of rules over the statement, recording the statement after each applied rule. */
function runChain(statement: AstNode, params: readonly unknown[], catalog: Catalog, rules: readonly RewriteRule[], plan: RewritePlan): void {
  let ast = cloneAst(statement);
  let reference = cloneAst(statement);
  let current = [...params];
  const applied: string[] = [];
  const notes: string[] = [];
  const indexes = new Map<string, IndexCandidate>();
  for (const rule of rules) {
    const trialAst = cloneAst(ast);
    const trialReference = cloneAst(reference);
    const outcome = rule.apply({ ast: trialAst, reference: trialReference, params: current, catalog });
    if (!outcome) continue;
    if (outcome.status === 'refused') {
      if (!plan.refusals.some((refusal) => refusal.rule === rule.id)) plan.refusals.push({ rule: rule.id, reason: outcome.reason });
      continue;
    }
    if (outcome.status === 'suggestion') {
      if (!plan.suggestions.some((suggestion) => suggestion.rule === rule.id)) plan.suggestions.push({ rule: rule.id, sql: outcome.sql, notes: outcome.notes });
      continue;
    }
    ast = trialAst;
    reference = trialReference;
    current = outcome.params ?? current;
    applied.push(rule.id);
    notes.push(...outcome.notes);
    for (const index of outcome.supportingIndexes ?? []) indexes.set(candidateSignature(index), index);
    const sql = print(ast);
    // Re-parse: a rewrite that prints SQL PostgreSQL's own grammar rejects is a bug, never a candidate.
    analyzeSql(sql);
    if (!plan.candidates.some((candidate) => candidate.sql === sql)) {
      const supporting = indexes.size > 0 ? { supportingIndexes: [...indexes.values()] } : {};
      plan.candidates.push({ rules: [...applied], sql, params: [...current], referenceSql: print(reference), notes: [...notes], ...supporting });
    }
  }
}

/** Every candidate rewrite of a single SELECT: each chain of compatible rules, alternatives in separate chains. */
export function rewriteStatement(sql: string, params: readonly unknown[], catalog: Catalog, rules: readonly RewriteRule[] = rewriteRules): RewritePlan {
  const plan: RewritePlan = { candidates: [], refusals: [], suggestions: [] };
  const analysis = analyzeSql(sql);
  const statement = analysis.statements[0];
  if (analysis.statements.length !== 1 || statement?.command !== 'SelectStmt') return plan;
  const groups = [...new Set(rules.map((rule) => rule.alternativeGroup).filter((group): group is string => group !== undefined))];
  const alternatives = groups.length === 0 ? [[]] : groups.flatMap((group) => rules.filter((rule) => rule.alternativeGroup === group).map((rule) => [rule.id]));
  for (const chosen of alternatives) {
    const chain = rules.filter((rule) => rule.alternativeGroup === undefined || chosen.includes(rule.id));
    runChain(statement.ast as AstNode, params, catalog, chain, plan);
  }
  return plan;
}
