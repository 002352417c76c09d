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
export type { QueryOptions, QueryPriority } from './queryOptions.js';
export { Executor } from './execute/executor.js';
export type { ExecutorMetrics, ExecutorLease } from './execute/executor.js';
export { QoptPool, QoptPoolClient } from './execute/poolFacade.js';
export type { TableLoader, TableLoaderOptions } from './execute/tableLoader.js';
export { QueueFullError, QuotaExceededError, CircuitOpenError, QueryTimeoutError, ResultTooLargeError, PoolExhaustedError } from './execute/errors.js';
export type { BreakerState } from './execute/targetBreaker.js';
