import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietProgress } from '../../bench/workloads/index.js';
import { runDemo } from '../../src/cli/demo/runDemo.js';
import { startServer } from '../../src/server/app.js';
import { createTestSchema } from '../support/postgres.js';
import type { TestSchema } from '../support/postgres.js';
import { TOKEN } from './support.js';

describe('qopt demo --serve', () => {
  let schema: TestSchema;

  beforeAll(async () => {
    schema = await createTestSchema('qopt_srvdemo');
  });

  afterAll(async () => {
    await schema.drop();
  });

  it("serves the demo's live optimizer: its dashboard shows the queries the demo ran", async () => {
    let seen: { totals: { calls: number; fingerprints: number } } | undefined;
    const report = await runDemo({
      workload: 'market',
      scale: 0.01,
      iterations: 2,
      database: schema.url,
      reload: true,
      progress: quietProgress,
      log: () => {},
      optimizer: { server: { apiToken: TOKEN } },
      afterReport: async (qo) => {
        const server = await startServer(qo, { port: 0 });
        try {
          seen = (await (await fetch(`${server.url}/api/v1/performance/dashboard`)).json()) as typeof seen;
        } finally {
          await server.close();
        }
      },
    });
    expect(seen?.totals.calls).toBeGreaterThanOrEqual(report.queriesRun);
    expect(seen?.totals.fingerprints).toBeGreaterThanOrEqual(5);
  });
});
