import { UsageError } from '../../src/errors.js';
import { etlWorkload } from './etl.js';
import { marketWorkload } from './market.js';
import { sheetsWorkload } from './sheets.js';
import type { Workload } from './workload.js';

/** The three seed workloads, by name. */
export const workloads: readonly Workload[] = [sheetsWorkload, marketWorkload, etlWorkload];

/** A workload by name; UsageError listing the known ones otherwise. */
export function workloadByName(name: string): Workload {
  const workload = workloads.find((candidate) => candidate.name === name);
  if (!workload) throw new UsageError(`unknown workload "${name}" (known: ${workloads.map((w) => w.name).join(', ')})`);
  return workload;
}

export * from './workload.js';
