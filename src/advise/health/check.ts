import type { DriverSession } from '../../db/driver.js';

/** How bad a finding is; `qopt health --fail-on` exits non-zero at or above a chosen one. */
export type Severity = 'info' | 'warning' | 'critical';

/** Severities in increasing order. */
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

/** Whether `severity` is at least `floor`. */
export function atLeast(severity: Severity, floor: Severity): boolean {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(floor);
}

/** One problem a check found, with what to run about it. */
export interface HealthFinding {
  check: string;
  severity: Severity;
  /** The object concerned: an index, a table, a session, the database. */
  object: string;
  message: string;
  /** The threshold it crossed, as text. */
  threshold: string;
  /** SQL (or a setting) that fixes it; null when only a person can decide. */
  remediation: string | null;
}

/** Thresholds of the health checks; every one has a default. */
export interface HealthThresholds {
  /** An index with no scan is reported once the statistics cover this many days. */
  unusedIndexWindowDays: number;
  unusedIndexMinBytes: number;
  deadTupleRatio: number;
  deadTupleMin: number;
  indexBloatRatio: number;
  indexBloatMinBytes: number;
  staleStatsRatio: number;
  staleStatsMinRows: number;
  autovacuumLagHours: number;
  freezeAgeFraction: number;
  cacheHitWarning: number;
  cacheHitCritical: number;
  cacheHitMinBlocks: number;
  longQuerySeconds: number;
  longQueryCriticalSeconds: number;
  idleInTransactionSeconds: number;
  connectionWarning: number;
  connectionCritical: number;
  sequenceWarning: number;
  sequenceCritical: number;
}

/** The default thresholds. */
export const DEFAULT_THRESHOLDS: HealthThresholds = {
  unusedIndexWindowDays: 7,
  unusedIndexMinBytes: 1024 * 1024,
  deadTupleRatio: 0.2,
  deadTupleMin: 10_000,
  indexBloatRatio: 2,
  indexBloatMinBytes: 10 * 1024 * 1024,
  staleStatsRatio: 0.2,
  staleStatsMinRows: 1000,
  autovacuumLagHours: 24,
  freezeAgeFraction: 0.5,
  cacheHitWarning: 0.99,
  cacheHitCritical: 0.9,
  cacheHitMinBlocks: 10_000,
  longQuerySeconds: 60,
  longQueryCriticalSeconds: 300,
  idleInTransactionSeconds: 60,
  connectionWarning: 0.8,
  connectionCritical: 0.95,
  sequenceWarning: 0.75,
  sequenceCritical: 0.9,
};

/** What a check receives: a session, the schemas to look at, the thresholds. */
export interface HealthContext {
  session: DriverSession;
  schemas: readonly string[];
  thresholds: HealthThresholds;
}

/** One health check: rules as data, a registry lists them. */
export interface HealthCheck {
  id: string;
  description: string;
  run(context: HealthContext): Promise<HealthFinding[]>;
}
