import { bodyOf, columnOf, conjuncts, listOf, selectsOf, walk } from '../ast.js';
import type { AstNode } from '../../sql/parser.js';
import type { AnalyzerRule, RuleMatch } from '../rule.js';

/** `FROM a, b` with no WHERE condition connecting them: a Cartesian product. */
export const implicitCrossJoinRule: AnalyzerRule = {
  id: 'implicit-cross-join',
  severity: 'high',
  description: 'implicit cross join (FROM a, b without a join condition)',
  explanation: 'Every row of one table is paired with every row of the other: the result grows as the product of their sizes, usually by mistake.',
  fix: 'Add the join condition (JOIN … ON …), or write CROSS JOIN if the product is intended.',
  match({ ast }) {
    const matches: RuleMatch[] = [];
    for (const select of selectsOf(ast)) {
      const aliases = listOf(select, 'fromClause')
        .map((item) => bodyOf(item, 'RangeVar'))
        .filter((range): range is AstNode => range !== undefined)
        .map((range) => String((range.alias as AstNode | undefined)?.aliasname ?? range.relname));
      if (aliases.length < 2) continue;
      // Union-find over aliases connected by any WHERE conjunct that mentions two of them.
      const parent = new Map(aliases.map((alias) => [alias, alias]));
      const root = (alias: string): string => (parent.get(alias) === alias ? alias : root(parent.get(alias)!));
      for (const part of conjuncts(select.whereClause)) {
        const mentioned = [...new Set([...walk(part)].filter((node) => node.type === 'ColumnRef').map((node) => columnOf({ ColumnRef: node.body })?.qualifier).filter((q): q is string => q !== null && q !== undefined && parent.has(q)))];
        for (const other of mentioned.slice(1)) parent.set(root(other), root(mentioned[0]!));
      }
      const components = new Set(aliases.map(root));
      if (components.size > 1) matches.push({ detail: `FROM ${aliases.join(', ')}: ${components.size} unconnected groups` });
    }
    return matches;
  },
};
