import type { AnalyzerRule } from '../rule.js';
import { correlatedSubqueryRule } from './correlatedSubquery.js';
import { countAsExistenceRule } from './countAsExistence.js';
import { functionOnIndexedColumnRule } from './functionOnIndexedColumn.js';
import { implicitCrossJoinRule } from './implicitCrossJoin.js';
import { largeOffsetRule } from './largeOffset.js';
import { latestRowWindowRule } from './latestRowWindow.js';
import { leadingWildcardLikeRule } from './leadingWildcardLike.js';
import { literalInListRule } from './literalInList.js';
import { notInNullableRule } from './notInNullable.js';
import { orAcrossColumnsRule } from './orAcrossColumns.js';
import { orderByRandomRule } from './orderByRandom.js';
import { selectStarRule } from './selectStar.js';
import { selfJoinPerFilterRule } from './selfJoinPerFilter.js';
import { unboundedResultRule } from './unboundedResult.js';

/** Every anti-pattern rule the analyzer runs. Adding a rule means adding a file and a line here. */
export const analyzerRules: readonly AnalyzerRule[] = [
  selectStarRule,
  largeOffsetRule,
  unboundedResultRule,
  literalInListRule,
  notInNullableRule,
  functionOnIndexedColumnRule,
  leadingWildcardLikeRule,
  orAcrossColumnsRule,
  correlatedSubqueryRule,
  countAsExistenceRule,
  latestRowWindowRule,
  selfJoinPerFilterRule,
  implicitCrossJoinRule,
  orderByRandomRule,
];
