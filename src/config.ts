import { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Every qopt option in one schema. Defaults follow chrono-optimization-system.md's flags except
 * where a default there would make qopt change a user's SQL or data without being asked; those
 * are noted beside the option.
 */
export const configSchema = z.strictObject({
  database: z
    .strictObject({
      /** `postgres://…` (node-postgres), `pglite:./dir`, `memory:`; unset → embedded PGlite under `.qopt/`. */
      url: z.string().min(1).optional(),
      /** Maximum connections in the node-postgres pool. */
      poolMax: z.number().int().min(1).max(1000).default(10),
      /** Idle connections are closed after this long. */
      idleTimeoutMs: z.number().int().min(0).default(30_000),
      /** A connection attempt fails after this long. */
      connectionTimeoutMs: z.number().int().min(1).default(10_000),
      /** Connections are retired after this many seconds (0 = never). */
      maxLifetimeSeconds: z.number().int().min(0).default(1800),
      /** Read replicas (postgres:// URLs) for read routing. */
      replicas: z.array(z.string().min(1)).default([]),
      /** DuckDB file for aggregation-heavy reads (`qo.hybrid`, `qopt duckdb sync`); unset → `.qopt/analytics.duckdb`. */
      duckdbPath: z.string().min(1).optional(),
    })
    .prefault({}),
  redis: z
    .strictObject({
      /** `redis://host:port`; unset → no shared tier, L1 only. */
      url: z.string().min(1).optional(),
      /** Every Redis command fails (and the cache degrades) after this long. */
      commandTimeoutMs: z.number().int().min(1).default(250),
      /** Key prefix, so several applications can share one Redis. */
      keyPrefix: z.string().default('qopt:'),
    })
    .prefault({}),
  optimization: z
    .strictObject({
      /** QUERY_OPTIMIZATION_ENABLED: analysis, findings and suggestions. */
      enabled: z.boolean().default(true),
      /** ENABLE_AUTOMATIC_QUERY_REWRITING: apply proven rewrites transparently. Off by default: qopt changes a user's SQL only when asked. */
      automaticRewriting: z.boolean().default(false),
      /** ENABLE_PREDICATE_PUSHDOWN */
      predicatePushdown: z.boolean().default(true),
      /** ENABLE_JOIN_OPTIMIZATION */
      joinOptimization: z.boolean().default(true),
      /** MAX_QUERY_OPTIMIZATION_TIME_MS: analysis of one query stops after this long. */
      maxOptimizationTimeMs: z.number().int().min(1).default(500),
      /** 0 = off, 1 = static rules, 2 = + plan findings, 3 = + rewrites with verification. */
      level: z.number().int().min(0).max(3).default(2),
      /** A rewrite must cost at most this fraction of the original by the planner. */
      maxRewriteCostRatio: z.number().gt(0).max(1).default(0.9),
    })
    .prefault({}),
  cache: z
    .strictObject({
      /** ENABLE_MULTI_LEVEL_CACHING */
      enabled: z.boolean().default(true),
      /** L1_CACHE_SIZE_MB: in-process tier, bounded in bytes. */
      l1SizeMb: z.number().min(0).default(512),
      /** L2_REDIS_CACHE_TTL_SECONDS */
      l2TtlSeconds: z.number().int().min(1).default(3600),
      /** L3_MATERIALIZED_VIEW_TTL_HOURS: freshness bound of materialized views. */
      materializedViewTtlHours: z.number().min(0).default(24),
      /** Directory of the persistent local tier; unset → no L3. */
      l3Path: z.string().min(1).optional(),
      /** Size bound of the persistent local tier. */
      l3SizeMb: z.number().min(0).default(256),
      /** Default time-to-live of a cached result. */
      defaultTtlSeconds: z.number().int().min(1).default(3600),
      /** CACHE_WARM_UP_ENABLED: re-run the monitor's hottest cached reads that are no longer cached, every `warmUpIntervalSeconds`. */
      warmUp: z.boolean().default(true),
      /** Seconds between warm-up cycles (0: warm up only when asked, `qo.warmUpHottest()`). */
      warmUpIntervalSeconds: z.number().int().min(0).default(60),
      /** Query shapes each warm-up cycle re-runs, hottest first by the monitor's total time. */
      warmUpTopQueries: z.number().int().min(1).default(20),
      /** PREDICTIVE_CACHING_ENABLED: accepted for the seed's flag; no effect yet (usage-based warming is `warmUp`). */
      predictive: z.boolean().default(true),
      /** CACHE_COMPRESSION_ENABLED */
      compression: z.boolean().default(true),
      /** Encoded results larger than this are compressed. */
      compressionThresholdBytes: z.number().int().min(0).default(4096),
      /** LISTEN for the NOTIFYs of `qopt cache capture install` triggers (PostgreSQL only). */
      changeCapture: z.boolean().default(true),
    })
    .prefault({}),
  monitor: z
    .strictObject({
      /** PERFORMANCE_MONITORING_ENABLED */
      enabled: z.boolean().default(true),
      /** QUERY_PERFORMANCE_TRACKING_ENABLED */
      trackQueries: z.boolean().default(true),
      /** SLOW_QUERY_THRESHOLD_MS */
      slowQueryThresholdMs: z.number().min(0).default(1000),
      /** ENABLE_ANOMALY_DETECTION */
      anomalyDetection: z.boolean().default(true),
      /** Fingerprints tracked individually; the rest are folded into `other`. */
      maxFingerprints: z.number().int().min(1).default(10_000),
      /** Repetitions of one fingerprint in one context that count as an N+1 pattern. */
      nPlusOneThreshold: z.number().int().min(2).default(10),
      /** Record parameters of slow queries instead of redacting them. */
      logParameters: z.boolean().default(false),
      alertThresholds: z
        .strictObject({
          slowQueryPercentage: z.number().min(0).max(100).default(5),
          errorRatePercentage: z.number().min(0).max(100).default(1),
          memoryUsagePercentage: z.number().min(0).max(100).default(80),
          cpuUsagePercentage: z.number().min(0).max(100).default(75),
          cacheHitRateMinimum: z.number().min(0).max(100).default(70),
        })
        .prefault({}),
      /** Optional URL that fired alerts are POSTed to. */
      alertWebhookUrl: z.string().url().optional(),
    })
    .prefault({}),
  executor: z
    .strictObject({
      /** MAX_CONCURRENT_QUERIES */
      maxConcurrentQueries: z.number().int().min(1).default(100),
      /** QUERY_TIMEOUT_SECONDS: cancelled on the server, not only on the client. */
      queryTimeoutSeconds: z.number().min(0).default(300),
      /** MEMORY_LIMIT_PER_QUERY_MB: a larger result is refused with a clear error. */
      memoryLimitPerQueryMb: z.number().min(1).default(1024),
      /** ENABLE_QUERY_QUEUEING */
      queueing: z.boolean().default(true),
      /** Callers waiting beyond this many get QueueFullError. */
      maxQueueSize: z.number().int().min(0).default(10_000),
      /** ENABLE_AUTOMATIC_RETRY: reads and statements marked idempotent only. */
      automaticRetry: z.boolean().default(true),
      maxRetries: z.number().int().min(0).max(10).default(3),
      /** First retry delay; doubles per attempt up to retryMaxDelayMs, with full jitter. */
      retryBaseDelayMs: z.number().min(0).default(20),
      retryMaxDelayMs: z.number().min(0).default(1000),
      /** Retries allowed as a fraction of recent queries (plus retryBudgetMinPerSecond): no retry storms. */
      retryBudgetRatio: z.number().min(0).max(1).default(0.1),
      retryBudgetMinPerSecond: z.number().min(0).default(10),
      /** A queued query's priority rises one class per this many ms of waiting, so low never starves. */
      priorityAgingMs: z.number().int().min(1).default(2000),
      /** Consecutive connection failures that open a target's circuit breaker. */
      breakerThreshold: z.number().int().min(1).default(5),
      /** An open breaker lets one probe through after this long. */
      breakerHalfOpenMs: z.number().int().min(1).default(5000),
      /** A result with more rows is refused (use qo.stream). */
      maxResultRows: z.number().int().min(1).default(1_000_000),
      /** Replicas further behind the primary than this are skipped for reads. */
      replicaMaxLagBytes: z.number().int().min(0).default(16 * 1024 * 1024),
      /** How often replica replay positions are polled. */
      replicaLagCheckMs: z.number().int().min(10).default(1000),
      /** A pooled connection idle longer than this is checked with `SELECT 1` before use (0 = never). */
      validateIdleAfterMs: z.number().int().min(0).default(5000),
      /** Identical concurrent reads (same SQL and parameters) share one execution. */
      deduplicateReads: z.boolean().default(true),
      /**
       * Repeated statements run as server-side prepared statements (parsed and planned once per
       * connection). Turn off behind a pooler that cannot keep them (PgBouncer before 1.21 in transaction mode).
       */
      preparedStatements: z.boolean().default(true),
      /** A text becomes a prepared statement on this use (1 = the first). */
      prepareOnUse: z.number().int().min(1).default(2),
      /** Prepared statements one connection holds at most; further texts run unprepared on it. */
      maxPreparedPerConnection: z.number().int().min(1).default(100),
      /** Statement texts whose use counts and names are remembered. */
      preparedTexts: z.number().int().min(1).default(2000),
    })
    .prefault({}),
  quotas: z
    .strictObject({
      /** ENABLE_RESOURCE_QUOTAS */
      enabled: z.boolean().default(true),
      /** DEFAULT_USER_QUERY_LIMIT_PER_HOUR */
      queriesPerHour: z.number().int().min(1).default(1000),
      /** DEFAULT_USER_MEMORY_LIMIT_MB */
      memoryLimitMb: z.number().min(1).default(512),
      /** DEFAULT_USER_CONCURRENT_QUERIES */
      concurrentQueries: z.number().int().min(1).default(10),
    })
    .prefault({}),
  sql: z
    .strictObject({
      /** Distinct statement texts whose analysis is kept in memory. */
      analysisCacheEntries: z.number().int().min(1).default(10_000),
    })
    .prefault({}),
  server: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /** QOPT_API_TOKEN: bearer token for endpoints that change state or run SQL. */
      apiToken: z.string().min(8).optional(),
      /** Role `POST /query` runs under (`SET LOCAL ROLE`); unset → the connection's own role. Clients cannot change it. */
      queryRole: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/).optional(),
      /** Statement timeout of `POST /query`, enforced by the server (`SET LOCAL statement_timeout`). Clients cannot change it. */
      queryStatementTimeoutMs: z.number().int().min(1).default(5000),
      /** Rows a non-streamed `POST /query` answer may hold; larger results must be streamed (NDJSON). */
      queryMaxRows: z.number().int().min(1).default(10_000),
      /** Largest request body accepted. */
      bodyLimitBytes: z.number().int().min(1024).default(1_048_576),
      /** The dashboard's numbers are recomputed at most this often (a snapshot of 10,000 fingerprints costs tens of ms). */
      dashboardMaxAgeMs: z.number().int().min(0).default(1000),
      /** The index advisor's report (dashboard, `GET /optimization/recommendations`) is reused until this old. */
      adviceMaxAgeMs: z.number().int().min(0).default(60_000),
      /** The advisor looks at this many of the recorded queries, by total time. */
      adviceMaxQueries: z.number().int().min(1).default(50),
      /** Requests per minute per token (or per address without a token); 0 = no limit. */
      rateLimitPerMinute: z.number().int().min(0).default(6000),
    })
    .prefault({}),
});

/** The validated, fully defaulted configuration. */
export type QoptConfig = z.infer<typeof configSchema>;
/** What a user may pass: every field optional, nested. */
export type QoptConfigInput = z.input<typeof configSchema>;

type EnvType = 'boolean' | 'integer' | 'number' | 'string' | 'list';

interface EnvOption {
  path: string;
  names: readonly string[];
  type: EnvType;
}

/** Environment variables mapped onto the schema: QOPT_* first, then the seed's flag names. */
export const envOptions: readonly EnvOption[] = [
  { path: 'database.url', names: ['QOPT_DATABASE_URL', 'DATABASE_URL'], type: 'string' },
  { path: 'database.poolMax', names: ['QOPT_POOL_MAX'], type: 'integer' },
  { path: 'database.replicas', names: ['QOPT_REPLICA_URLS'], type: 'list' },
  { path: 'redis.url', names: ['QOPT_REDIS_URL', 'REDIS_URL'], type: 'string' },
  { path: 'redis.keyPrefix', names: ['QOPT_REDIS_KEY_PREFIX'], type: 'string' },
  { path: 'optimization.enabled', names: ['QOPT_OPTIMIZATION_ENABLED', 'QUERY_OPTIMIZATION_ENABLED'], type: 'boolean' },
  { path: 'optimization.automaticRewriting', names: ['QOPT_AUTOMATIC_REWRITING', 'ENABLE_AUTOMATIC_QUERY_REWRITING'], type: 'boolean' },
  { path: 'optimization.predicatePushdown', names: ['QOPT_PREDICATE_PUSHDOWN', 'ENABLE_PREDICATE_PUSHDOWN'], type: 'boolean' },
  { path: 'optimization.joinOptimization', names: ['QOPT_JOIN_OPTIMIZATION', 'ENABLE_JOIN_OPTIMIZATION'], type: 'boolean' },
  { path: 'optimization.maxOptimizationTimeMs', names: ['QOPT_MAX_OPTIMIZATION_TIME_MS', 'MAX_QUERY_OPTIMIZATION_TIME_MS'], type: 'integer' },
  { path: 'optimization.level', names: ['QOPT_OPTIMIZATION_LEVEL'], type: 'integer' },
  { path: 'cache.enabled', names: ['QOPT_CACHE_ENABLED', 'ENABLE_MULTI_LEVEL_CACHING'], type: 'boolean' },
  { path: 'cache.l1SizeMb', names: ['QOPT_L1_CACHE_SIZE_MB', 'L1_CACHE_SIZE_MB'], type: 'number' },
  { path: 'cache.l2TtlSeconds', names: ['QOPT_L2_CACHE_TTL_SECONDS', 'L2_REDIS_CACHE_TTL_SECONDS'], type: 'integer' },
  { path: 'cache.materializedViewTtlHours', names: ['QOPT_MATERIALIZED_VIEW_TTL_HOURS', 'L3_MATERIALIZED_VIEW_TTL_HOURS'], type: 'number' },
  { path: 'cache.l3Path', names: ['QOPT_L3_CACHE_PATH'], type: 'string' },
  { path: 'cache.l3SizeMb', names: ['QOPT_L3_CACHE_SIZE_MB'], type: 'number' },
  { path: 'cache.warmUp', names: ['QOPT_CACHE_WARM_UP', 'CACHE_WARM_UP_ENABLED'], type: 'boolean' },
  { path: 'cache.warmUpIntervalSeconds', names: ['QOPT_CACHE_WARM_UP_INTERVAL_SECONDS'], type: 'number' },
  { path: 'cache.warmUpTopQueries', names: ['QOPT_CACHE_WARM_UP_TOP_QUERIES'], type: 'number' },
  { path: 'cache.predictive', names: ['QOPT_PREDICTIVE_CACHING', 'PREDICTIVE_CACHING_ENABLED'], type: 'boolean' },
  { path: 'cache.compression', names: ['QOPT_CACHE_COMPRESSION', 'CACHE_COMPRESSION_ENABLED'], type: 'boolean' },
  { path: 'monitor.enabled', names: ['QOPT_MONITORING_ENABLED', 'PERFORMANCE_MONITORING_ENABLED'], type: 'boolean' },
  { path: 'monitor.trackQueries', names: ['QOPT_QUERY_TRACKING', 'QUERY_PERFORMANCE_TRACKING_ENABLED'], type: 'boolean' },
  { path: 'monitor.slowQueryThresholdMs', names: ['QOPT_SLOW_QUERY_THRESHOLD_MS', 'SLOW_QUERY_THRESHOLD_MS'], type: 'number' },
  { path: 'monitor.anomalyDetection', names: ['QOPT_ANOMALY_DETECTION', 'ENABLE_ANOMALY_DETECTION'], type: 'boolean' },
  { path: 'monitor.alertWebhookUrl', names: ['QOPT_ALERT_WEBHOOK_URL'], type: 'string' },
  { path: 'executor.maxConcurrentQueries', names: ['QOPT_MAX_CONCURRENT_QUERIES', 'MAX_CONCURRENT_QUERIES'], type: 'integer' },
  { path: 'executor.queryTimeoutSeconds', names: ['QOPT_QUERY_TIMEOUT_SECONDS', 'QUERY_TIMEOUT_SECONDS'], type: 'number' },
  { path: 'executor.memoryLimitPerQueryMb', names: ['QOPT_MEMORY_LIMIT_PER_QUERY_MB', 'MEMORY_LIMIT_PER_QUERY_MB'], type: 'number' },
  { path: 'executor.queueing', names: ['QOPT_QUERY_QUEUEING', 'ENABLE_QUERY_QUEUEING'], type: 'boolean' },
  { path: 'executor.automaticRetry', names: ['QOPT_AUTOMATIC_RETRY', 'ENABLE_AUTOMATIC_RETRY'], type: 'boolean' },
  { path: 'executor.preparedStatements', names: ['QOPT_PREPARED_STATEMENTS'], type: 'boolean' },
  { path: 'quotas.enabled', names: ['QOPT_RESOURCE_QUOTAS', 'ENABLE_RESOURCE_QUOTAS'], type: 'boolean' },
  { path: 'quotas.queriesPerHour', names: ['QOPT_USER_QUERY_LIMIT_PER_HOUR', 'DEFAULT_USER_QUERY_LIMIT_PER_HOUR'], type: 'integer' },
  { path: 'quotas.memoryLimitMb', names: ['QOPT_USER_MEMORY_LIMIT_MB', 'DEFAULT_USER_MEMORY_LIMIT_MB'], type: 'number' },
  { path: 'quotas.concurrentQueries', names: ['QOPT_USER_CONCURRENT_QUERIES', 'DEFAULT_USER_CONCURRENT_QUERIES'], type: 'integer' },
  { path: 'server.host', names: ['QOPT_HOST'], type: 'string' },
  { path: 'server.port', names: ['QOPT_PORT'], type: 'integer' },
  { path: 'server.apiToken', names: ['QOPT_API_TOKEN'], type: 'string' },
  { path: 'server.queryRole', names: ['QOPT_QUERY_ROLE'], type: 'string' },
  { path: 'server.queryStatementTimeoutMs', names: ['QOPT_QUERY_STATEMENT_TIMEOUT_MS'], type: 'integer' },
  { path: 'server.rateLimitPerMinute', names: ['QOPT_RATE_LIMIT_PER_MINUTE'], type: 'integer' },
  { path: 'database.duckdbPath', names: ['QOPT_DUCKDB_PATH'], type: 'string' },
];

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

function parseEnvValue(name: string, raw: string, type: EnvType): unknown {
  const text = raw.trim();
  switch (type) {
    case 'string':
      return text;
    case 'list':
      return text === '' ? [] : text.split(',').map((part) => part.trim()).filter(Boolean);
    case 'boolean': {
      const word = text.toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      throw new ConfigError(name, raw, 'expected true/false, 1/0, yes/no or on/off');
    }
    case 'integer':
    case 'number': {
      const value = Number(text);
      if (text === '' || !Number.isFinite(value)) throw new ConfigError(name, raw, type === 'integer' ? 'expected an integer' : 'expected a number');
      if (type === 'integer' && !Number.isInteger(value)) throw new ConfigError(name, raw, 'expected an integer');
      return value;
    }
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const child = node[key];
    if (typeof child !== 'object' || child === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** Reads the QOPT_* variables and the seed's flag names into a (partial) config input. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): { input: QoptConfigInput; sources: Map<string, string> } {
  const input: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  for (const option of envOptions) {
    const name = option.names.find((candidate) => env[candidate] !== undefined && env[candidate] !== '');
    if (!name) continue;
    setPath(input, option.path, parseEnvValue(name, env[name]!, option.type));
    sources.set(option.path, name);
  }
  return { input: input as QoptConfigInput, sources };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeDeep(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    const existing = out[key];
    out[key] = isPlainObject(existing) && isPlainObject(value) ? mergeDeep(existing, value) : value;
  }
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = input;
  for (const key of path) {
    if (!isPlainObject(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/**
 * Validates options: explicit `input` wins over the environment, which wins over defaults.
 * Throws ConfigError naming the first bad option (its env variable when it came from there).
 */
export function loadConfig(input: QoptConfigInput = {}, env: NodeJS.ProcessEnv = process.env): QoptConfig {
  const fromEnv = configFromEnv(env);
  const merged = mergeDeep(fromEnv.input as Record<string, unknown>, input as Record<string, unknown>);
  const result = configSchema.safeParse(merged);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.join('.');
  const explicit = valueAt(input, issue.path) !== undefined;
  const option = !explicit && fromEnv.sources.has(path) ? fromEnv.sources.get(path)! : path || '(root)';
  throw new ConfigError(option, valueAt(merged, issue.path), issue.message);
}
