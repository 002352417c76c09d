import type { Fingerprint } from '../sql/analyze.js';
import { LogLinearHistogram } from './histogram.js';

/** One execution of a statement, as the pipeline reports it. */
export interface QueryObservation {
  fingerprint: Fingerprint;
  normalized: string;
  durationMs: number;
  rows: number;
  failed: boolean;
}

/** Per-fingerprint statistics with real percentiles. */
export interface FingerprintStats {
  fingerprint: Fingerprint;
  normalized: string;
  calls: number;
  errors: number;
  rows: number;
  totalMs: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

interface Entry {
  normalized: string;
  calls: number;
  errors: number;
  rows: number;
  latency: LogLinearHistogram;
}

/** Keeps latency histograms per query fingerprint; the source of the demo's query table. */
export class QueryRecorder {
  private readonly entries = new Map<Fingerprint, Entry>();

  /** Records one execution. */
  record(observation: QueryObservation): void {
    let entry = this.entries.get(observation.fingerprint);
    if (!entry) {
      entry = { normalized: observation.normalized, calls: 0, errors: 0, rows: 0, latency: new LogLinearHistogram() };
      this.entries.set(observation.fingerprint, entry);
    }
    entry.calls += 1;
    entry.rows += observation.rows;
    if (observation.failed) entry.errors += 1;
    entry.latency.record(observation.durationMs);
  }

  /** Statistics of every fingerprint, by total time, largest first. */
  snapshot(): FingerprintStats[] {
    const stats: FingerprintStats[] = [];
    for (const [fingerprint, entry] of this.entries) {
      const histogram = entry.latency;
      stats.push({
        fingerprint,
        normalized: entry.normalized,
        calls: entry.calls,
        errors: entry.errors,
        rows: entry.rows,
        totalMs: histogram.mean * histogram.count,
        meanMs: histogram.mean,
        p50Ms: histogram.quantile(0.5),
        p95Ms: histogram.quantile(0.95),
        p99Ms: histogram.quantile(0.99),
        maxMs: histogram.max,
      });
    }
    return stats.sort((a, b) => b.totalMs - a.totalMs);
  }

  /** Forgets everything recorded. */
  reset(): void {
    this.entries.clear();
  }
}
