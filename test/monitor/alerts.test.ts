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
  it('fires an execution-time rule with its evidence, then resolves it once the window has moved past the slow calls for a minute', async () => {
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
      // The 1-minute window still holds the previous whole minute at T0 + 61 s, and a rule resolves only after a clear minute.
      record(recorder, 'fast', 2, T0 + 61_000);
      expect(alerts.evaluate(T0 + 61_000)).toEqual([]);
      record(recorder, 'fast', 2, T0 + 181_000);
      const resolved = alerts.evaluate(T0 + 181_000);
      expect(resolved.map((event) => [event.status, event.noTraffic])).toEqual([['resolved', false]]);
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

  it('resolves a firing rate rule once its window has no traffic, saying so', () => {
    const recorder = new QueryRecorder();
    const alerts = new AlertManager(recorder);
    for (const rule of defaultAlertRules({ slowQueryPercentage: 5, errorRatePercentage: 1, memoryUsagePercentage: 100, cpuUsagePercentage: 100, cacheHitRateMinimum: 70 })) alerts.addRule(rule);
    for (let i = 0; i < 40; i += 1) record(recorder, 'q', 1, T0 + i, i < 4);
    expect(alerts.evaluate(T0 + 100).map((event) => [event.ruleId, event.status])).toEqual([['default-error-rate', 'firing']]);
    const later = alerts.evaluate(T0 + 3 * 3_600_000);
    expect(later.map((event) => [event.ruleId, event.status, event.noTraffic])).toEqual([['default-error-rate', 'resolved', true]]);
    expect(later[0]!.evidence).toEqual([]);
    expect(later[0]!.message).toContain('no calls left to judge');
    expect(alerts.active()).toEqual([]);
  });

  it('keeps firing while a window has calls but too few to judge', () => {
    const recorder = new QueryRecorder();
    const alerts = new AlertManager(recorder);
    alerts.addRule({ id: 'errors', metric_type: 'error_rate', threshold_value: 1, comparison_operator: '>', window_minutes: 1, min_occurrences: 20, severity: 'high' });
    for (let i = 0; i < 40; i += 1) record(recorder, 'q', 1, T0 + i, i < 4);
    expect(alerts.evaluate(T0 + 100)).toHaveLength(1);
    record(recorder, 'q', 1, T0 + 300_000);
    expect(alerts.evaluate(T0 + 300_001)).toEqual([]);
    expect(alerts.active().map((alert) => alert.ruleId)).toEqual(['errors']);
  });

  it('keeps a steady problem firing across minute boundaries, and resolves it once after it stops', () => {
    const recorder = new QueryRecorder();
    const alerts = new AlertManager(recorder);
    alerts.addRule({ id: 'slow', metric_type: 'execution_time', threshold_value: 100, comparison_operator: '>', window_minutes: 1, min_occurrences: 3, severity: 'high' });
    const events: string[] = [];
    // One 500 ms execution every 10 s for 5 minutes, rules evaluated every 5 s, then 5 quiet minutes.
    for (let t = 0; t <= 600_000; t += 5000) {
      if (t % 10_000 === 0 && t <= 300_000) record(recorder, 'q', 500, T0 + t);
      for (const event of alerts.evaluate(T0 + t)) events.push(`${event.status} ${t / 1000}`);
    }
    expect(events[0]).toBe('firing 20');
    expect(events.map((event) => event.split(' ')[0])).toEqual(['firing', 'resolved']);
    const resolvedAt = Number(events[1]!.split(' ')[1]);
    expect(resolvedAt).toBeGreaterThan(300);
    expect(resolvedAt).toBeLessThanOrEqual(480);
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
    expect(() => alerts.addRule({ id: 'x', metric_type: 'error_rate', threshold_value: 1, comparison_operator: '>', window_minutes: 7 as never, min_occurrences: 1, severity: 'low' })).toThrow(/window_minutes/);
  });
});
