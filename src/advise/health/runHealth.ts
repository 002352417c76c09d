import type { Driver } from '../../db/driver.js';
import { atLeast, DEFAULT_THRESHOLDS, SEVERITIES } from './check.js';
import type { HealthCheck, HealthFinding, HealthThresholds, Severity } from './check.js';
import { healthChecks } from './registry.js';

/** Options of a health run. */
export interface HealthOptions {
  /** Schemas whose objects are checked (default: the connection's search_path schemas). */
  schemas?: string[];
  thresholds?: Partial<HealthThresholds>;
  /** Only these check ids (default: all). */
  checks?: string[];
}

/** The findings of every check, and the checks that could not run on this database. */
export interface HealthReport {
  schemas: string[];
  findings: HealthFinding[];
  /** Checks that failed to run (PGlite lacks some statistics views), with the reason. */
  skipped: Array<{ check: string; reason: string }>;
  /** The highest severity found, or null when nothing was found. */
  worst: Severity | null;
}

/** Runs the health checks; a check the database cannot answer is reported as skipped, never fatal. */
export async function runHealthChecks(driver: Driver, options: HealthOptions = {}, checks: readonly HealthCheck[] = healthChecks): Promise<HealthReport> {
  const schemas = options.schemas ?? (await driver.query<{ schemas: string[] }>('SELECT current_schemas(false)::text[] AS schemas')).rows[0]?.schemas ?? ['public'];
  const thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  const findings: HealthFinding[] = [];
  const skipped: HealthReport['skipped'] = [];
  for (const check of checks) {
    if (options.checks && !options.checks.includes(check.id)) continue;
    try {
      findings.push(...(await check.run({ session: driver, schemas, thresholds })));
    } catch (error) {
      skipped.push({ check: check.id, reason: (error as Error).message });
    }
  }
  const worst = findings.reduce<Severity | null>((top, finding) => (top === null || atLeast(finding.severity, top) ? finding.severity : top), null);
  return { schemas, findings, skipped, worst };
}

/** Whether a report should fail a CI run at the given severity. */
export function healthFails(report: HealthReport, failOn: Severity): boolean {
  return report.findings.some((finding) => atLeast(finding.severity, failOn));
}

export { SEVERITIES };
