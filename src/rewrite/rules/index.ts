import type { RewriteRule } from '../rule.js';
import { countToExistsRule } from './countToExists.js';
import { inListToAnyRule } from './inListToAny.js';
import { inlineFilteredCteRule } from './inlineFilteredCte.js';
import { notInToNotExistsRule } from './notInToNotExists.js';
import { offsetToKeysetRule } from './offsetToKeyset.js';
import { scalarSubqueryToJoinRule } from './scalarSubqueryToJoin.js';
import { selfJoinToExistsRule } from './selfJoinToExists.js';
import { windowToDistinctOnRule } from './windowToDistinctOn.js';
import { windowToLateralRule } from './windowToLateral.js';

/** Every rewrite rule, in the order a chain applies them. Adding a rule means adding a file and a line here. */
export const rewriteRules: readonly RewriteRule[] = [
  windowToDistinctOnRule,
  windowToLateralRule,
  selfJoinToExistsRule,
  inlineFilteredCteRule,
  notInToNotExistsRule,
  countToExistsRule,
  scalarSubqueryToJoinRule,
  inListToAnyRule,
  offsetToKeysetRule,
];
