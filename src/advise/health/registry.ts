import type { HealthCheck } from './check.js';
import { autovacuumLagCheck } from './checks/autovacuumLag.js';
import { cacheHitRatioCheck } from './checks/cacheHitRatio.js';
import { connectionSaturationCheck } from './checks/connectionSaturation.js';
import { duplicateIndexesCheck } from './checks/duplicateIndexes.js';
import { indexBloatCheck } from './checks/indexBloat.js';
import { invalidIndexesCheck } from './checks/invalidIndexes.js';
import { longRunningSessionsCheck } from './checks/longRunningSessions.js';
import { sequenceExhaustionCheck } from './checks/sequenceExhaustion.js';
import { staleStatisticsCheck } from './checks/staleStatistics.js';
import { tableBloatCheck } from './checks/tableBloat.js';
import { unindexedForeignKeysCheck } from './checks/unindexedForeignKeys.js';
import { unusedIndexesCheck } from './checks/unusedIndexes.js';

/** Every health check, in report order. Adding a check is adding a file and a line here. */
export const healthChecks: readonly HealthCheck[] = [
  invalidIndexesCheck,
  duplicateIndexesCheck,
  unusedIndexesCheck,
  unindexedForeignKeysCheck,
  tableBloatCheck,
  indexBloatCheck,
  staleStatisticsCheck,
  autovacuumLagCheck,
  cacheHitRatioCheck,
  longRunningSessionsCheck,
  connectionSaturationCheck,
  sequenceExhaustionCheck,
];
