/** qopt's public API: everything a user may import. */
export { createOptimizer, Optimizer, changesData } from './optimizer.js';
export type { OptimizerOptions, TransactionScope, CommittedWritesListener } from './optimizer.js';
export { configSchema, loadConfig, envOptions } from './config.js';
export type { QoptConfig, QoptConfigInput } from './config.js';
export { QoptError, ConfigError, SqlSyntaxError, ConnectionError, QueryError, UsageError } from './errors.js';
export { analyzeSql, SqlAnalyzer } from './sql/analyze.js';
export type { SqlAnalysis, StatementAnalysis, Fingerprint } from './sql/analyze.js';
export type { StatementKind } from './sql/classify.js';
export type {
  TableReference,
  Predicate,
  PredicateValue,
  ColumnKey,
  JoinCondition,
  OrderKey,
  StatementReferences,
} from './sql/references.js';
export type { Driver, DriverSession, DriverDialect, QueryResultSet, ExplainOptions, ExplainResult, PlanNode } from './db/driver.js';
export { openDriver, parseDatabaseLocation } from './db/openDriver.js';
export { PgDriver } from './db/pgDriver.js';
export { PgliteDriver } from './db/pgliteDriver.js';
export { QueryRecorder } from './monitor/recorder.js';
export type { FingerprintStats, QueryObservation } from './monitor/recorder.js';
export { LogLinearHistogram } from './monitor/histogram.js';
export { adviseIndexes } from './advise/advisor.js';
export type { AdviseOptions, AdviceReport, IndexRecommendation, QueryPrediction } from './advise/advisor.js';
export type { AdvisorBudget } from './advise/selection.js';
export type { IndexCandidate, IndexKey } from './advise/indexCandidate.js';
export { workloadFromRecorder, workloadFromSqlText, workloadFromPgStatStatements } from './advise/workload.js';
export type { AdvisorQuery } from './advise/workload.js';
export { adviseRecordedWorkload, refreshViewsOnWrites } from './advise/forOptimizer.js';
export { applyRecommendations, cleanInvalidIndexes } from './advise/apply.js';
export type { ApplyOptions, ApplyReport, AppliedIndex } from './advise/apply.js';
export { migrationSql } from './advise/migration.js';
export { readHistory } from './advise/history.js';
export { readWriteCounters } from './advise/catalog.js';
export { AdvisorError, IndexApplyError } from './advise/errors.js';
export { runHealthChecks, healthFails } from './advise/health/runHealth.js';
export type { HealthReport, HealthOptions } from './advise/health/runHealth.js';
export type { HealthFinding, HealthThresholds, Severity, HealthCheck } from './advise/health/check.js';
export { healthChecks } from './advise/health/registry.js';
export { MaterializedViewManager } from './views/materializedViews.js';
export { recommendViews } from './views/recommendViews.js';
export type { MaterializedViewSpec } from './views/viewSpec.js';
export { MaterializedViewError } from './views/errors.js';
