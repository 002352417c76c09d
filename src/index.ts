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
export { buildServer, startServer, createServiceContext, API_PREFIX } from './server/app.js';
export type { ServerOptions, RunningServer } from './server/app.js';
export { DuckDbDriver, StaleCopyError, DEFAULT_DUCKDB_PATH } from './db/duckdbDriver.js';
export type { DuckDbResultSet, SyncedTable, DuckDbOpenOptions } from './db/duckdbDriver.js';
export { syncTablesToDuckDb, tableStamps, copyFreshness } from './db/duckdbSync.js';
export type { SyncReport, CopyFreshness } from './db/duckdbSync.js';
export type { HybridRequest, HybridResult, HybridStatement } from './db/hybrid.js';
