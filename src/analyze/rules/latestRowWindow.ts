import { bodyOf, columnOf, constantValue, functionName, listOf, operatorOf, selectsOf, conjuncts } from '../ast.js';
import type { AstNode } from '../../sql/parser.js';
import type { AnalyzerRule } from '../rule.js';

const RANKING_FUNCTIONS = new Set(['row_number', 'rank', 'dense_rank']);

/** A `FROM (SELECT …, row_number() OVER (PARTITION BY … ORDER BY …) AS rn …) x WHERE rn = 1` shape. */
export interface LatestRowShape {
  /** The outer SELECT (its WHERE holds `rn = 1`). */
  outer: AstNode;
  /** The inner SELECT holding the window. */
  inner: AstNode;
  /** Index of the ranking target in the inner target list. */
  rankTarget: number;
  rankName: string;
  rankFunction: string;
  partition: unknown[];
  order: unknown[];
  /** Index of the `rn = 1` conjunct in the outer WHERE. */
  filterIndex: number;
}

/** Finds the latest-row-per-group shape in one SELECT (the outer one), or undefined. */
export function latestRowShape(outer: AstNode): LatestRowShape | undefined {
  const from = listOf(outer, 'fromClause');
  const sub = bodyOf(from[0], 'RangeSubselect');
  const inner = bodyOf(sub?.subquery, 'SelectStmt');
  if (from.length !== 1 || !inner) return undefined;
  const targets = listOf(inner, 'targetList');
  const rankTarget = targets.findIndex((target) => {
    const call = bodyOf(bodyOf(target, 'ResTarget')?.val, 'FuncCall');
    return call?.over !== undefined && RANKING_FUNCTIONS.has(functionName({ FuncCall: call }) ?? '');
  });
  if (rankTarget < 0) return undefined;
  const target = bodyOf(targets[rankTarget], 'ResTarget')!;
  const rankName = String(target.name ?? '');
  const call = bodyOf(target.val, 'FuncCall')!;
  const over = call.over as AstNode;
  const filterIndex = conjuncts(outer.whereClause).findIndex((part) => {
    const expr = bodyOf(part, 'A_Expr');
    const column = columnOf(expr?.lexpr);
    return expr?.kind === 'AEXPR_OP' && operatorOf(expr) === '=' && column?.column === rankName && constantValue(expr.rexpr) === 1;
  });
  if (!rankName || filterIndex < 0 || listOf(over, 'partitionClause').length === 0 || listOf(over, 'orderClause').length === 0) return undefined;
  return {
    outer,
    inner,
    rankTarget,
    rankName,
    rankFunction: functionName({ FuncCall: call })!,
    partition: listOf(over, 'partitionClause'),
    order: listOf(over, 'orderClause'),
    filterIndex,
  };
}

/** Latest row per group computed by ranking every row with a window function. */
export const latestRowWindowRule: AnalyzerRule = {
  id: 'latest-row-window',
  severity: 'high',
  description: 'latest-row-per-group by window function',
  explanation: 'row_number() numbers every version of every group (a full sort of the partition) only to keep the first; the planner cannot stop early per group.',
  fix: 'SELECT DISTINCT ON (group keys) … ORDER BY group keys, version DESC (with a unique tie-breaker), or LATERAL (… ORDER BY version DESC LIMIT 1) per group, backed by an index on (group keys, version DESC).',
  match({ ast }) {
    return selectsOf(ast)
      .map(latestRowShape)
      .filter((shape): shape is LatestRowShape => shape !== undefined)
      .map((shape) => ({ detail: `${shape.rankFunction}() over ${shape.partition.length} partition key(s), filtered ${shape.rankName} = 1` }));
  },
};
