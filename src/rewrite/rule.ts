import type { IndexCandidate } from '../advise/indexCandidate.js';
import type { Catalog } from '../analyze/catalog.js';
import type { AstNode } from '../sql/parser.js';

/** What a rewrite rule works on: mutable copies of the statement, and the live catalog its preconditions check. */
export interface RewriteContext {
  /** The statement (`{ SelectStmt: … }`) to rewrite in place. */
  ast: AstNode;
  /**
   * The statement the rewrite must equal. Usually the original; a rule that breaks ties of a nondeterministic
   * original (row_number() over a non-unique order) adds the same tie-breaker here, so the proof compares
   * against one of the results the original itself may return.
   */
  reference: AstNode;
  params: readonly unknown[];
  catalog: Catalog;
}

/**
 * What a rule did: rewrote the statement, refused with the failed precondition, or (for API-changing rules) suggested.
 * A rewrite may name the index it needs to beat the original (a proposal: qopt never builds it).
 */
export type RewriteOutcome =
  | { status: 'rewritten'; notes: string[]; params?: unknown[]; supportingIndexes?: IndexCandidate[] }
  | { status: 'refused'; reason: string }
  | { status: 'suggestion'; sql: string; notes: string[] };

/** A rewrite rule, as data: one file each under `rewrite/rules/`. `apply` returns null where the pattern is absent. */
export interface RewriteRule {
  id: string;
  /** One line: from what to what. */
  description: string;
  /** Rules that are alternatives to each other share a group; the engine tries each in its own chain. */
  alternativeGroup?: string;
  apply(context: RewriteContext): RewriteOutcome | null;
}
