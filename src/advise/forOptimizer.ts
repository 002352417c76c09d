import type { Optimizer } from '../optimizer.js';
import type { MaterializedViewManager } from '../views/materializedViews.js';
import { adviseIndexes } from './advisor.js';
import type { AdviceReport, AdviseOptions } from './advisor.js';
import { workloadFromRecorder } from './workload.js';
import type { AdvisorQuery } from './workload.js';

/**
 * Advises on what the optimizer has recorded (`qo.recorder.snapshot()`: fingerprints weighted by
 * calls × time). `samples` adds parameter sets per fingerprint, so what-if plans use real values
 * instead of PostgreSQL's generic plan; a set must bind the recorded (normalized) text, whose
 * constants are parameters as well — one that does not is left out.
 */
export async function adviseRecordedWorkload(qo: Optimizer, options: AdviseOptions = {}, samples: ReadonlyMap<string, unknown[][]> = new Map()): Promise<AdviceReport> {
  const workload: AdvisorQuery[] = workloadFromRecorder(qo.recorder.snapshot()).map((query) => {
    // The recorder keeps the normalized text, whose constants are parameters too: a sample taken for the
    // original statement has fewer values and cannot bind, so the query is planned generically instead.
    const parameters = qo.sql.analyze(query.sql).parameterCount;
    return { ...query, paramSamples: (samples.get(query.fingerprint) ?? []).filter((sample) => sample.length === parameters) };
  });
  return adviseIndexes(qo.driver, workload, options);
}

/** Marks a manager's views stale when the optimizer reports committed writes; returns the unsubscribe function. */
export function refreshViewsOnWrites(qo: Optimizer, manager: MaterializedViewManager): () => void {
  return qo.onCommittedWrites((writes) => manager.tablesWritten(writes.flatMap((write) => write.writeTables)));
}
