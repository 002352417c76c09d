import type { Workload, WorkloadSizes } from '../../../bench/workloads/workload.js';
import type { Optimizer } from '../../optimizer.js';

/** What every section of the demo report can read. */
export interface DemoContext {
  qo: Optimizer;
  workload: Workload;
  scale: number;
  sizes: WorkloadSizes;
  /** The workload's name for each query fingerprint it ran. */
  queryNames: ReadonlyMap<string, string>;
  /** One example of the parameters each named query ran with. */
  exampleParams: ReadonlyMap<string, unknown[]>;
}

/** A part of the demo report: text for a person and data for `--json`; null when it has nothing to say. */
export interface DemoSection {
  id: string;
  title: string;
  render(context: DemoContext): Promise<{ text: string; data: unknown } | null>;
}
