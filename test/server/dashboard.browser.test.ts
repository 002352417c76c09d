import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkload, quietProgress, Rng } from '../../bench/workloads/index.js';
import { marketWorkload } from '../../bench/workloads/market.js';
import { startTestService } from './support.js';
import type { TestService } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOT = resolve(import.meta.dirname, '../../bench/results/dashboard.png');
const SCALE = 0.01;

describe('the web dashboard in a real browser', () => {
  let service: TestService;
  let browser: Browser;
  let running = true;
  let workload: Promise<void>;

  beforeAll(async () => {
    // A low slow-query threshold: the workload's sleeps below land in the slow log and fire an alert.
    service = await startTestService({ monitor: { slowQueryThresholdMs: 3 }, cache: { warmUpIntervalSeconds: 0 } }, 'qopt_srvb');
    await loadWorkload(service.qo.driver, marketWorkload, SCALE, quietProgress);
    service.qo.recorder.reset();
    const sizes = marketWorkload.sizes(SCALE);
    const rng = new Rng(7);
    // The workload keeps running while the page is open, so every refresh sees new numbers.
    workload = (async () => {
      while (running) {
        for (const query of marketWorkload.queries) await service.qo.query(query.sql, query.params(rng, sizes));
        await service.qo.query('SELECT pg_sleep(0.005) AS slept');
      }
    })();
    const alert = await service.request('POST', '/api/v1/performance/create-alert', {
      body: { metric_type: 'execution_time', threshold_value: 3, comparison_operator: '>', window_minutes: 1, min_occurrences: 1, severity: 'high', name: 'statements over 3 ms' },
    });
    expect(alert.status).toBe(200);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  });

  afterAll(async () => {
    running = false;
    await workload;
    await browser?.close();
    await service.close();
  });

  it('shows live charts of the running workload and keeps refreshing them', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${service.server.url}/`);
    await page.waitForSelector('#status.ok', { timeout: 20_000 });
    // Four queries of the market workload and the sleep: the total-time and latency charts get a bar each.
    await page.waitForFunction("Number(document.querySelector('#chart-total')?.dataset.points) >= 5", undefined, { timeout: 20_000 });
    // Throughput needs two refreshes: proof that the page polls on its own.
    await page.waitForFunction("Number(document.querySelector('#chart-throughput')?.dataset.points) >= 2", undefined, { timeout: 30_000 });
    const latencyBars = await page.evaluate<number[]>('window.qoptDashboard.charts.latency.data.datasets.map((dataset) => dataset.data.length)');
    expect(latencyBars).toEqual([5, 5, 5]);
    const rows = await page.locator('#queries tr').count();
    expect(rows).toBe(6);
    // The panels fill from the monitor (slow queries, the alert created above) and the advisor (asked by the page itself).
    await page.waitForFunction("document.querySelectorAll('#slow-queries tr').length >= 2", undefined, { timeout: 20_000 });
    await page.waitForFunction("document.querySelectorAll('#alerts tr').length >= 2", undefined, { timeout: 20_000 });
    expect(await page.locator('#alerts').textContent()).toContain('high');
    await page.waitForFunction("document.querySelectorAll('#recommendations tr').length >= 2", undefined, { timeout: 60_000 });
    expect(await page.locator('#recommendations').textContent()).toMatch(/ON .*prices/);
    for (const section of ['cache', 'slow_queries', 'alerts', 'recommendations']) {
      expect(await page.locator(`[data-section="${section}"]`).textContent(), section).toBe('');
    }
    // Automatic rewriting is off here: the rewrites panel says how rewrites get there.
    expect(await page.locator('[data-section="rewrites"]').textContent()).toContain('none yet');
    mkdirSync(resolve(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(errors).toEqual([]);
  });
});
