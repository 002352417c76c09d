import { isWorkloadLoaded, loadWorkload, Rng, workloadByName } from '../../../bench/workloads/index.js';
import type { ProgressReporter } from '../../../bench/workloads/workload.js';
import { createOptimizer } from '../../optimizer.js';
import type { Optimizer, OptimizerOptions } from '../../optimizer.js';
import { demoSections } from './sections/index.js';
import type { DemoContext } from './section.js';

/** Options of `qopt demo`. */
export interface DemoOptions {
  workload: string;
  scale: number;
  iterations: number;
  database: string | undefined;
  /** Reload the data even if this scale is already loaded. */
  reload: boolean;
  progress: ProgressReporter;
  log(message: string): void;
  /** Called with the live optimizer after the report is ready and before it closes (`qopt demo --serve`). */
  afterReport?: (qo: Optimizer, report: DemoReport) => Promise<void>;
  /** Extra options for the optimizer (the service's token and port). */
  optimizer?: OptimizerOptions;
}

/** The demo's result: each section's text and data. */
export interface DemoReport {
  workload: string;
  scale: number;
  database: string;
  loadedSeconds: number | null;
  queriesRun: number;
  sections: Array<{ id: string; title: string; text: string; data: unknown }>;
}

const PARAMETER_SEED = 20241219;

/** Loads a seed workload (if needed), runs its queries through qopt, and collects every section of the report. */
export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const workload = workloadByName(options.workload);
  const qo = await createOptimizer({ ...options.optimizer, database: { ...options.optimizer?.database, url: options.database } });
  try {
    options.log(`qopt demo: ${workload.name} workload (${workload.seed}) at scale ${options.scale} on ${qo.driver.target}`);
    let loadedSeconds: number | null = null;
    if (options.reload || !(await isWorkloadLoaded(qo.driver, workload, options.scale))) {
      loadedSeconds = (await loadWorkload(qo.driver, workload, options.scale, options.progress)).seconds;
    } else {
      options.log('  data already loaded at this scale; reusing it (--reload to regenerate)');
    }
    const sizes = workload.sizes(options.scale);
    const rng = new Rng(PARAMETER_SEED);
    const queryNames = new Map<string, string>();
    const exampleParams = new Map<string, unknown[]>();
    let queriesRun = 0;
    for (const query of workload.queries) {
      queryNames.set(qo.analyze(query.sql).fingerprint, query.name);
      options.log(`  running ${query.name} × ${options.iterations}`);
      for (let iteration = 0; iteration < options.iterations; iteration += 1) {
        const params = query.params(rng, sizes);
        if (iteration === 0) exampleParams.set(query.name, params);
        await qo.query(query.sql, params);
        queriesRun += 1;
      }
    }
    for (const loop of workload.loops) {
      queryNames.set(qo.analyze(loop.query).fingerprint, loop.name);
      const iterations = loop.params(rng, sizes, loop.iterations);
      options.log(`  running ${loop.name}: ${iterations.length} queries in a loop`);
      exampleParams.set(loop.name, iterations[0] ?? []);
      // One request context per loop, as a request handler would run it: the monitor counts repetitions inside it.
      await qo.withContext(loop.name, async () => {
        for (const params of iterations) {
          await qo.query(loop.query, params);
          queriesRun += 1;
        }
      });
    }
    const context: DemoContext = { qo, workload, scale: options.scale, sizes, queryNames, exampleParams };
    const sections: DemoReport['sections'] = [];
    for (const section of demoSections) {
      const rendered = await section.render(context);
      if (rendered) sections.push({ id: section.id, title: section.title, ...rendered });
    }
    const report = { workload: workload.name, scale: options.scale, database: qo.driver.target, loadedSeconds, queriesRun, sections };
    await options.afterReport?.(qo, report);
    return report;
  } finally {
    await qo.close();
  }
}

/** The report as a person reads it. */
export function formatDemoReport(report: DemoReport): string {
  const lines = [
    '',
    `qopt demo report — ${report.workload} workload, scale ${report.scale}, ${report.queriesRun} queries on ${report.database}`,
  ];
  if (report.loadedSeconds !== null) lines.push(`(data generated in ${report.loadedSeconds.toFixed(1)} s)`);
  for (const section of report.sections) {
    lines.push('', `== ${section.title} ==`, section.text);
  }
  lines.push('', 'Next: qopt analyze "<sql>" · qopt bench sql · qopt load-workload market --scale 1 --database postgres://…', '');
  return lines.join('\n');
}
