import type { FingerprintStats } from '../monitor/recorder.js';
import type { Exemplar, RunIdentity } from './exemplars.js';

/** How much of the monitor's hottest reads a warm-up re-runs. */
export interface HottestWarmUpOptions {
  /** Query shapes, by total time in the monitor (default 20). */
  top?: number;
  /** Recent instances (parameter sets) per shape (default 4). */
  perQuery?: number;
}

/** What a warm-up did. */
export interface WarmUpReport {
  /** Hot read shapes considered (by the monitor's total time). */
  shapes: number;
  /** Instances considered. */
  queries: number;
  /** Instances that ran against the database and were stored. */
  warmed: number;
  /** Instances that were still cached (nothing ran). */
  alreadyCached: number;
  failed: number;
  /** Instances not re-run because no loader runs the identity they were loaded under. */
  skipped: number;
  /** Why instances were skipped (each reason once). */
  skippedReasons: string[];
  durationMs: number;
}

/** What warm-up needs from the pipeline. */
export interface WarmUpPort {
  /** Per-shape statistics of the monitor. */
  stats(): readonly FingerprintStats[];
  /** Recent instances of a shape the cache loaded. */
  exemplars(fingerprint: string, limit: number): Exemplar[];
  /** True when this instance is answerable from the cache right now (under the role it was loaded under). */
  isCached(exemplar: Exemplar): boolean;
  /**
   * What runs and caches an instance under the identity it was loaded under (low priority, not recorded as
   * traffic): the pipeline's own for `{}`, one registered for that identity (the service's `/query` policy),
   * else null.
   */
  loaderFor(identity: RunIdentity): ((exemplar: Exemplar) => Promise<void>) | null;
}

/**
 * Why an instance of an identity with no loader is skipped (null for the pipeline's own). Re-running it under
 * the pipeline's identity would run a client's SQL with other rights or more time than its caller had.
 */
export function identityMismatch(identity: RunIdentity): string | null {
  if (identity.role !== undefined) return 'loaded under a role no warm-up runner is registered for; warm-up runs as the connection’s own role';
  if (identity.statementTimeoutMs !== undefined) return 'loaded under a statement timeout no warm-up runner is registered for; warm-up runs under the executor’s';
  return null;
}

/** Shapes by the monitor's total time, hottest first. */
export function byTotalTime(stats: readonly FingerprintStats[]): FingerprintStats[] {
  return stats.filter((shape) => shape.calls > 0).sort((a, b) => b.totalMs - a.totalMs);
}

/**
 * Re-runs the recent instances of the monitor's hottest cached read shapes (writes and uncached
 * reads have no instances and are passed over) that are not cached now, each through the loader of the
 * identity it was loaded under (instances of an identity with no loader are skipped, with the reason), one at a time (a warm-up
 * must not become a load spike), so they are answered from memory when traffic asks again — after
 * an invalidation, a deploy, or a cold start of another instance.
 */
export async function warmUpHottest(port: WarmUpPort, options: HottestWarmUpOptions = {}): Promise<WarmUpReport> {
  const started = performance.now();
  const top = options.top ?? 20;
  const report: WarmUpReport = { shapes: 0, queries: 0, warmed: 0, alreadyCached: 0, failed: 0, skipped: 0, skippedReasons: [], durationMs: 0 };
  for (const shape of byTotalTime(port.stats())) {
    if (report.shapes >= top) break;
    const instances = port.exemplars(shape.fingerprint, options.perQuery ?? 4);
    if (instances.length === 0) continue;
    report.shapes += 1;
    for (const instance of instances) {
      report.queries += 1;
      const load = port.loaderFor(instance.identity);
      if (load === null) {
        const reason = identityMismatch(instance.identity) ?? 'no warm-up runner for its identity';
        report.skipped += 1;
        if (!report.skippedReasons.includes(reason)) report.skippedReasons.push(reason);
        continue;
      }
      if (port.isCached(instance)) {
        report.alreadyCached += 1;
        continue;
      }
      try {
        await load(instance);
        report.warmed += 1;
      } catch {
        report.failed += 1;
      }
    }
  }
  report.durationMs = performance.now() - started;
  return report;
}
