import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AlertManager, defaultAlertRules } from '../../src/monitor/alerts.js';
import type { AlertEvent } from '../../src/monitor/alerts.js';
import { AlertRuleError } from '../../src/monitor/errors.js';
import { QueryRecorder } from '../../src/monitor/recorder.js';
import type { Fingerprint } from '../../src/sql/analyze.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function record(recorder: QueryRecorder, fingerprint: string, durationMs: number, at: number, failed = false): void {
  recorder.record({ fingerprint: fingerprint as Fingerprint, normalized: `SELECT /* ${fingerprint} */ 1`, durationMs, rows: 1, failed, at });
}

describe('AlertManager', () => {
  it('fires an execution-time rule with its evidence, then resolves it when the window has moved past the slow calls', async () => {
    const received: AlertEvent[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push(JSON.parse(body) as AlertEvent);
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const logged: AlertEvent[] = [];
    const recorder = new QueryRecorder();
    const alerts = new AlertManager(recorder, { log: (event) => logged.push(event), webhookUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` });
    try {
      alerts.addRule({ id: 'slow-orders', metric_type: 'execution_time', threshold_value: 5000, comparison_operator: '>', window_minutes: 1, min_occurrences: 3, severity: 'high' });
      for (let i = 0; i < 50; i += 1) record(recorder, 'fast', 2, T0 + i * 100);
      record(recorder, 'orders', 6000, T0 + 1000);
      record(recorder, 'orders', 7000, T0 + 2000);
      expect(alerts.evaluate(T0 + 5000)).toEqual([]);
      record(recorder, 'orders', 9000, T0 + 3000);
      const fired = alerts.evaluate(T0 + 10_000);
      expect(fired).toHaveLength(1);
      expect(fired[0]!.status).toBe('firing');
      expect(fired[0]!.occurrences).toBe(3);
      expect(fired[0]!.evidence.map((entry) => entry.fingerprint)).toEqual(['orders']);
      expect(alerts.active()).toHaveLength(1);
      // Still breached a few seconds later: no second event.
      expect(alerts.evaluate(T0 + 15_000)).toEqual([]);
      // The 1-minute window still holds the previous whole minute at T0 + 61 s; two minutes on it has moved past.
      record(recorder, 'fast', 2, T0 + 61_000);
      expect(alerts.evaluate(T0 + 61_000)).toEqual([]);
      record(recorder, 'fast', 2, T0 + 121_000);
      const resolved = alerts.evaluate(T0 + 121_000);
      expect(resolved.map((event) => event.status)).toEqual(['resolved']);
      expect(alerts.active()).toEqual([]);
      await alerts.stop();
      expect(logged.map((event) => event.status)).toEqual(['firing', 'resolved']);
      expect(received.map((event) => [event.ruleId, event.status])).toEqual([
        ['slow-orders', 'firing'],
        ['slow-orders', 'resolved'],
      ]);
      expect(alerts.deliveryFailures).toBe(0);
    } finally {
      await alerts.stop();
      server.close();
    }
  });

  it("fires the seed's default error-rate rule only once the window has enough calls", () => {
    const recorder = new QueryRecorder();
    const alerts = new AlertManager(recorder);
    for (const rule of defaultAlertRules({ slowQueryPercentage: 5, errorRatePercentage: 1, memoryUsagePercentage: 100, cpuUsagePercentage: 100, cacheHitRateMinimum: 70 })) alerts.addRule(rule);
    for (let i = 0; i < 10; i += 1) record(recorder, 'q', 1, T0 + i, i < 2);
    expect(alerts.evaluate(T0 + 100).filter((event) => event.ruleId === 'default-error-rate')).toEqual([]);
    for (let i = 10; i < 40; i += 1) record(recorder, 'q', 1, T0 + i);
    const fired = alerts.evaluate(T0 + 200).filter((event) => event.ruleId === 'default-error-rate');
    expect(fired).toHaveLength(1);
    expect(fired[0]!.value).toBe(5);
    expect(fired[0]!.message).toContain('error_rate');
  });

  it('counts a webhook that cannot be reached as a delivery failure instead of throwing', async () => {
    const recorder = new QueryRecorder();
    const alerts = new AlertManager(recorder, { webhookUrl: 'http://127.0.0.1:9/unreachable', webhookTimeoutMs: 2000 });
    alerts.addRule({ id: 'any', metric_type: 'execution_time', threshold_value: 0, comparison_operator: '>', window_minutes: 1, min_occurrences: 1, severity: 'low' });
    record(recorder, 'q', 5, T0);
    expect(alerts.evaluate(T0 + 1)).toHaveLength(1);
    await alerts.stop();
    expect(alerts.deliveryFailures).toBe(1);
  });

  it('rejects a rule with an unknown metric or a window the recorder does not keep', () => {
    const alerts = new AlertManager(new QueryRecorder());
    expect(() => alerts.addRule({ id: 'x', metric_type: 'latency' as never, threshold_value: 1, comparison_operator: '>', window_minutes: 5, min_occurrences: 1, severity: 'low' })).toThrow(AlertRuleError);
    expect(() => alerts.addRule({ id: 'x', metric_type: 'error_rate', threshold_value: 1, comparison_operator: '>', window_minutes: 7, min_occurrences: 1, severity: 'low' })).toThrow(/window_minutes/);
  });
});
