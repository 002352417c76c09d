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
export { QueryRecorder, OTHER_FINGERPRINT } from './monitor/recorder.js';
export type { FingerprintStats, QueryObservation, CacheOutcome, WindowMinutes, RecorderOptions } from './monitor/recorder.js';
export { LogLinearHistogram } from './monitor/histogram.js';
export { buildServer, startServer, createServiceContext, API_PREFIX } from './server/app.js';
export type { ServerOptions, RunningServer } from './server/app.js';
export { DuckDbDriver, StaleCopyError, DEFAULT_DUCKDB_PATH } from './db/duckdbDriver.js';
export type { DuckDbResultSet, SyncedTable, DuckDbOpenOptions } from './db/duckdbDriver.js';
export { syncTablesToDuckDb, tableStamps, copyFreshness } from './db/duckdbSync.js';
export type { SyncReport, CopyFreshness } from './db/duckdbSync.js';
export type { HybridRequest, HybridResult, HybridStatement } from './db/hybrid.js';
export { findAntiPatterns, findAntiPatternsInText } from './analyze/findings.js';
export { analyzerRules } from './analyze/rules/index.js';
export { Catalog, loadCatalog } from './analyze/catalog.js';
export type { CatalogTable, CatalogColumn, CatalogIndex } from './analyze/catalog.js';
export type { AnalyzerRule, Finding, Severity, RuleContext, RuleMatch } from './analyze/rule.js';
export { planFindings } from './analyze/planFindings.js';
export type { PlanFinding } from './analyze/planFindings.js';
export { costEstimate, improvementPercent } from './analyze/cost.js';
export type { CostEstimate } from './analyze/cost.js';
export { analyzeQuery } from './analyze/queryAnalyzer.js';
export type { QueryReport, QueryAnalysisOptions, OptimizationLevel, VerifiedRewrite } from './analyze/queryAnalyzer.js';
export { rewriteStatement } from './rewrite/rewriter.js';
export type { RewriteCandidate, RewritePlan } from './rewrite/rewriter.js';
export { rewriteRules } from './rewrite/rules/index.js';
export type { RewriteRule, RewriteContext, RewriteOutcome } from './rewrite/rule.js';
export { verifyRewrite } from './rewrite/verify.js';
export type { RewriteVerdict, VerifyOptions } from './rewrite/verify.js';
export { AutoRewriter } from './rewrite/autoRewriter.js';
export type { AutoRewriteEvent, AutoRewriterOptions } from './rewrite/autoRewriter.js';
export { EdgeDataError } from './rewrite/errors.js';
export { PerformanceMonitor } from './monitor/performanceMonitor.js';
export type { PerformanceMonitorDependencies } from './monitor/performanceMonitor.js';
export { SlowQueryLog, redactParameter } from './monitor/slowLog.js';
export type { SlowQueryEntry, SlowQueryPlan, SlowLogOptions } from './monitor/slowLog.js';
export { NPlusOneDetector, batchPlan } from './monitor/nPlusOne.js';
export type { NPlusOneFinding, NPlusOneSource } from './monitor/nPlusOne.js';
export { AnomalyDetector } from './monitor/anomaly.js';
export type { Anomaly, AnomalyMetric, AnomalyOptions } from './monitor/anomaly.js';
export { AlertManager, defaultAlertRules, validateAlertRule, ALERT_METRICS } from './monitor/alerts.js';
export type { AlertRule, AlertEvent, ActiveAlert, AlertMetric, AlertSeverity, ComparisonOperator, AlertDelivery } from './monitor/alerts.js';
export { complexityScore } from './monitor/complexity.js';
export type { ComplexityScore, ComplexityFactor } from './monitor/complexity.js';
export { createMetricsRegistry, DURATION_BUCKETS_SECONDS } from './monitor/prometheus.js';
export { pgStatStatementsStatus, readPgStatStatements, topQueries } from './monitor/pgStatStatements.js';
export type { PgStatStatementsStatus, TopReport, TopQueryRow } from './monitor/pgStatStatements.js';
export { AlertRuleError, PgStatStatementsUnavailableError } from './monitor/errors.js';
export type { QueryOptions, QueryCacheOptions } from './queryOptions.js';
export { QueryCache } from './cache/queryCache.js';
export type { CacheStats } from './cache/queryCache.js';
export type { TierStats } from './cache/tiers/memory.js';
export { installCapture, removeCapture, capturedTables, CAPTURE_CHANNEL } from './cache/capture/install.js';
export { CacheUsageError, CaptureError } from './cache/errors.js';
