import type { AstNode } from '../sql/parser.js';
import type { Catalog } from './catalog.js';

/** How much a finding matters: `high` costs orders of magnitude, `info` is a habit worth changing. */
export type Severity = 'high' | 'medium' | 'low' | 'info';

/** What an analyzer rule sees: one statement's parse tree and (when connected) the live catalog. */
export interface RuleContext {
  /** The statement's parse tree (`{ SelectStmt: … }`, libpg-query JSON). */
  ast: AstNode;
  /** Empty when there is no database: rules that need catalog facts then stay silent or say "if". */
  catalog: Catalog;
}

/** One place a rule matched: what exactly it saw. */
export interface RuleMatch {
  /** The specific observation, e.g. `cells.answer LIKE '%x'`. */
  detail: string;
}

/** An anti-pattern rule, as data: one file each under `analyze/rules/`. */
export interface AnalyzerRule {
  id: string;
  severity: Severity;
  /** One line: what the rule looks for. */
  description: string;
  /** Why it is slow (or wrong). */
  explanation: string;
  /** The change that helps. */
  fix: string;
  match(context: RuleContext): RuleMatch[];
}

/** A rule that matched a statement. */
export interface Finding {
  rule: string;
  severity: Severity;
  description: string;
  detail: string;
  explanation: string;
  fix: string;
  /** Index of the statement in a multi-statement text. */
  statement: number;
}
