import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { PerformanceMonitor } from '../../src/monitor/performanceMonitor.js';
import type { QueryObservation } from '../../src/monitor/recorder.js';
import { analyzeSql } from '../../src/sql/analyze.js';
import type { Fingerprint } from '../../src/sql/analyze.js';
import { Rng } from '../workloads/workload.js';

/** What one measurement reports, in MB. */
export interface MemoryMeasurement {
  /** heapUsed + arrayBuffers after the fill, minus before, once both readings have settled. */
  mb: number;
  /** The same, read right after the first gc() (what the bench reported before it settled). */
  firstReadingMb: number;
  /** The recorder's own byte count. */
  estimatedMb: number;
}

const FINGERPRINTS = 10_000;
const MINUTES = 60;
const REPLAY_START = Date.UTC(2026, 0, 1);
/** gc() returns before V8's concurrent sweeper has freed dead typed arrays' backing stores: read again until two readings agree this closely. */
const SETTLED_BYTES = 100_000;
const SETTLE_PAUSE_MS = 50;
const SETTLE_ATTEMPTS = 40;

function lognormal(rng: Rng, medianMs: number, sigma: number): number {
  const u1 = Math.max(rng.next(), 1e-12);
  return medianMs * Math.exp(sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rng.next()));
}

function usedBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Collects and reads until the reading stops moving (the array-buffer sweeper has caught up). */
async function settledBytes(gc: () => void): Promise<number> {
  gc();
  let previous = usedBytes();
  for (let attempt = 0; attempt < SETTLE_ATTEMPTS; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_PAUSE_MS));
    gc();
    const current = usedBytes();
    if (Math.abs(current - previous) < SETTLED_BYTES) return current;
    previous = current;
  }
  return previous;
}

/** Heap held by a monitor that has seen 10,000 fingerprints in every minute of the last hour; must run in a process started with --expose-gc. */
async function measureInThisProcess(samplesPerMinute: number): Promise<MemoryMeasurement> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the memory measurement needs node --expose-gc');
  const before = await settledBytes(gc);
  const monitor = new PerformanceMonitor(loadConfig({}).monitor, { analyze: analyzeSql, alertIntervalMs: 0 });
  const rng = new Rng(5);
  const medians = Array.from({ length: FINGERPRINTS }, () => 0.2 + rng.next() * 50);
  const observation: QueryObservation = { fingerprint: '' as Fingerprint, normalized: '', durationMs: 0, rows: 1, failed: false, operation: 'SELECT', collection: 't' };
  for (let minute = 0; minute < MINUTES; minute += 1) {
    for (let sample = 0; sample < samplesPerMinute; sample += 1) {
      for (let index = 0; index < FINGERPRINTS; index += 1) {
        observation.fingerprint = `fingerprint-${index}` as Fingerprint;
        observation.normalized = `SELECT * FROM table_${index} WHERE id = $1`;
        observation.durationMs = lognormal(rng, medians[index]!, 0.5);
        observation.at = REPLAY_START + minute * 60_000 + sample;
        monitor.record(observation);
      }
    }
  }
  gc();
  const firstReading = usedBytes();
  const after = await settledBytes(gc);
  if (monitor.recorder.size < FINGERPRINTS) throw new Error('the monitor did not keep 10,000 fingerprints');
  const estimatedMb = monitor.recorder.byteSize() / 1e6;
  await monitor.close();
  return { mb: (after - before) / 1e6, firstReadingMb: (firstReading - before) / 1e6, estimatedMb };
}

/**
 * Measures in a fresh child process, so no earlier run's garbage (whose backing stores a gc() in
 * this process may not have released yet) sits in the baseline.
 */
export function memoryFor10kFingerprints(samplesPerMinute: number): Promise<MemoryMeasurement> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [String(samplesPerMinute)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: MemoryMeasurement | undefined;
    child.on('message', (message) => (result = message as MemoryMeasurement));
    child.on('error', reject);
    child.on('exit', (code) => (result && code === 0 ? resolve(result) : reject(new Error(`the memory measurement process exited with ${code} and no result`))));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const measurement = await measureInThisProcess(Number(process.argv[2] ?? 10));
  // The IPC channel keeps this process alive: let go of it once the result is sent.
  if (process.send) process.send(measurement, () => process.disconnect());
  else console.log(JSON.stringify(measurement));
}
