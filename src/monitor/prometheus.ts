import { Counter, Gauge, Registry } from 'prom-client';
import type { AnomalyDetector } from './anomaly.js';
import type { AlertManager } from './alerts.js';
import type { NPlusOneDetector } from './nPlusOne.js';
import type { ExportedEntry, QueryRecorder } from './recorder.js';
import type { SlowQueryLog } from './slowLog.js';

/** Histogram bounds in seconds: sub-millisecond resolution for cache hits and point lookups. */
export const DURATION_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Distinct `db_collection_name` values exposed; the rest become `_other` (bounded cardinality). */
export const MAX_COLLECTION_LABELS = 50;

/** What node-postgres' Pool reports about its connections. */
export interface PoolStatistics {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** The parts of the monitor the exposition reads at scrape time. */
export interface ExpositionSources {
  recorder: QueryRecorder;
  slowLog: SlowQueryLog;
  nPlusOne: NPlusOneDetector;
  anomalies: AnomalyDetector;
  alerts: AlertManager;
  /** The pool, when the driver has one (PostgreSQL, not PGlite). */
  pool?: PoolStatistics;
  /** `db.system.name` (OpenTelemetry): postgresql. */
  systemName?: string;
}

type LabelSet = Record<string, string>;

interface HistogramSeries {
  labels: LabelSet;
  buckets: number[];
  sumSeconds: number;
  count: number;
}

const OPERATION_NAMES: Record<string, string> = {
  SelectStmt: 'SELECT',
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
  CopyStmt: 'COPY',
};

/** `db.operation.name` from a parse-tree command (`SelectStmt` → `SELECT`); other commands keep a short form. */
export function operationName(command: string | undefined): string {
  if (!command) return 'unknown';
  return OPERATION_NAMES[command] ?? command.replace(/Stmt$/, '').toUpperCase();
}

/**
 * `db_collection_name` labels that never change once given: the first MAX_COLLECTION_LABELS collections
 * seen keep their name for the life of the process, later ones share `_other`. Re-ranking at every scrape
 * made series appear and vanish and moved counts between them, which Prometheus reads as resets.
 */
class CollectionLabels {
  private readonly labels = new Map<string, string>();
  private named = 0;

  of(collection: string): string {
    let label = this.labels.get(collection);
    if (label === undefined) {
      label = this.named < MAX_COLLECTION_LABELS ? (collection === '' ? '_none' : collection) : '_other';
      if (label !== '_other') this.named += 1;
      this.labels.set(collection, label);
    }
    return label;
  }
}

/** The recorder's entries, read once per scrape however many metrics ask for them. */
class ScrapeEntries {
  private entries: ExportedEntry[] | undefined;

  constructor(private readonly recorder: QueryRecorder) {}

  /** Called when a scrape begins: the next read takes a fresh copy. */
  begin(): void {
    this.entries = undefined;
  }

  read(): ExportedEntry[] {
    return (this.entries ??= this.recorder.exportEntries());
  }
}

const DURATION_BUCKETS_MS = DURATION_BUCKETS_SECONDS.map((seconds) => seconds * 1000);
const YIELD_EVERY_ENTRIES = 500;

/**
 * The operation-duration histogram, built at scrape time from the recorder's own histograms, so the
 * query path pays nothing for Prometheus. A prom-client custom metric: the registry formats it.
 */
class OperationDurationMetric {
  readonly name = 'db_client_operation_duration_seconds';
  readonly help = 'Duration of database client operations (OpenTelemetry db.client.operation.duration), by operation and collection';
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    private readonly scrape: ScrapeEntries,
    private readonly collections: CollectionLabels,
    private readonly systemName: string,
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Array<{ labels: LabelSet; value: number; metricName: string }> }> {
    const series = new Map<string, HistogramSeries>();
    const entries = this.scrape.read();
    for (let index = 0; index < entries.length; index += 1) {
      // Reading 10,000 fingerprints' buckets takes tens of milliseconds: let queries in between.
      if (index > 0 && index % YIELD_EVERY_ENTRIES === 0) await new Promise((resolve) => setImmediate(resolve));
      const entry = entries[index]!;
      const labels = { db_system_name: this.systemName, db_operation_name: entry.operation, db_collection_name: this.collections.of(entry.collection) };
      const key = `${labels.db_operation_name}\u0000${labels.db_collection_name}`;
      let target = series.get(key);
      if (!target) {
        target = { labels, buckets: DURATION_BUCKETS_SECONDS.map(() => 0), sumSeconds: 0, count: 0 };
        series.set(key, target);
      }
      entry.addLatencyCountsAtOrBelow(DURATION_BUCKETS_MS, target.buckets);
      target.sumSeconds += entry.totalMs / 1000;
      target.count += entry.calls;
    }
    const values: Array<{ labels: LabelSet; value: number; metricName: string }> = [];
    for (const { labels, buckets, sumSeconds, count } of series.values()) {
      DURATION_BUCKETS_SECONDS.forEach((bound, index) => values.push({ labels: { ...labels, le: String(bound) }, value: buckets[index]!, metricName: `${this.name}_bucket` }));
      values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: sumSeconds, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** A Prometheus registry of qopt's metrics: OpenTelemetry database names, bounded labels, no SQL text in any label. */
export function createMetricsRegistry(sources: ExpositionSources): Registry {
  const registry = new Registry();
  const system = sources.systemName ?? 'postgresql';
  const scrape = new ScrapeEntries(sources.recorder);
  const entries = () => scrape.read();
  // Each exposition starts a scrape: its metrics share one read of the entries, the next one reads anew.
  const expose = registry.metrics.bind(registry);
  registry.metrics = () => {
    scrape.begin();
    return expose();
  };
  const collections = new CollectionLabels();
  registry.registerMetric(new OperationDurationMetric(scrape, collections, system) as never);

  new Counter({
    name: 'db_client_operation_errors_total',
    help: 'Failed database client operations, by operation and collection',
    labelNames: ['db_system_name', 'db_operation_name', 'db_collection_name'],
    registers: [registry],
    collect() {
      this.reset();
      for (const entry of entries()) {
        if (entry.errors > 0) this.inc({ db_system_name: system, db_operation_name: entry.operation, db_collection_name: collections.of(entry.collection) }, entry.errors);
      }
    },
  });

  new Counter({
    name: 'qopt_cache_requests_total',
    help: 'Cache lookups reported by the cache stage, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      let hits = 0;
      let misses = 0;
      for (const entry of entries()) {
        hits += entry.cacheHits;
        misses += entry.cacheMisses;
      }
      this.inc({ outcome: 'hit' }, hits);
      this.inc({ outcome: 'miss' }, misses);
    },
  });

  new Counter({
    name: 'qopt_slow_queries_total',
    help: 'Executions over the slow-query threshold',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(entries().reduce((sum, entry) => sum + entry.slow, 0));
    },
  });

  new Gauge({
    name: 'qopt_monitor_fingerprints',
    help: 'Query fingerprints tracked individually (the rest are folded into "other")',
    registers: [registry],
    collect() {
      this.set(sources.recorder.size);
    },
  });

  new Gauge({
    name: 'qopt_n_plus_one_findings',
    help: 'Distinct N+1 patterns found',
    registers: [registry],
    collect() {
      this.set(sources.nPlusOne.list().length);
    },
  });

  new Gauge({
    name: 'qopt_anomalies_active',
    help: 'Per-fingerprint regressions not yet resolved, by metric',
    labelNames: ['metric'],
    registers: [registry],
    collect() {
      this.reset();
      this.set({ metric: 'p95_latency' }, 0);
      this.set({ metric: 'error_rate' }, 0);
      for (const anomaly of sources.anomalies.active()) this.inc({ metric: anomaly.metric });
    },
  });

  new Gauge({
    name: 'qopt_alerts_firing',
    help: 'Alert rules firing now, by severity',
    labelNames: ['severity'],
    registers: [registry],
    collect() {
      this.reset();
      for (const severity of ['low', 'medium', 'high', 'critical']) this.set({ severity }, 0);
      for (const alert of sources.alerts.active()) this.inc({ severity: alert.severity });
    },
  });

  const pool = sources.pool;
  if (pool) {
    new Gauge({
      name: 'db_client_connection_count',
      help: 'Connections in the pool (OpenTelemetry db.client.connection.count), by state',
      labelNames: ['db_client_connection_state', 'db_client_connection_pool_name'],
      registers: [registry],
      collect() {
        this.set({ db_client_connection_state: 'idle', db_client_connection_pool_name: 'qopt' }, pool.idleCount);
        this.set({ db_client_connection_state: 'used', db_client_connection_pool_name: 'qopt' }, pool.totalCount - pool.idleCount);
      },
    });
    new Gauge({
      name: 'db_client_connection_pending_requests',
      help: 'Callers waiting for a pooled connection (OpenTelemetry db.client.connection.pending_requests)',
      labelNames: ['db_client_connection_pool_name'],
      registers: [registry],
      collect() {
        this.set({ db_client_connection_pool_name: 'qopt' }, pool.waitingCount);
      },
    });
  }
  return registry;
}
