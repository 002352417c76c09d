import { Agent, request } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

/** One closed-loop HTTP load: `connections` clients, each sending its next request when the last answered. */
export interface HttpLoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  connections: number;
  durationMs: number;
}

/** What a load run measured. */
export interface HttpLoadResult {
  requests: number;
  /** Answers whose status was not 200. */
  failures: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function runLoad(spec: HttpLoadSpec): Promise<HttpLoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const latencies: number[] = [];
  let failures = 0;
  const deadline = performance.now() + spec.durationMs;
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const started = performance.now();
      const req = request(spec.url, { method: spec.method, headers: spec.headers, agent }, (response) => {
        response.resume();
        response.on('end', () => {
          latencies.push(performance.now() - started);
          if (response.statusCode !== 200) failures += 1;
          resolve();
        });
      });
      req.on('error', reject);
      req.end(spec.body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: spec.connections }, async () => {
      while (performance.now() < deadline) await once();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return { requests: latencies.length, failures, requestsPerSecond: latencies.length / seconds, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) };
}

/**
 * Runs the load in a worker thread, so the client does not share the service's event loop (the service
 * runs in the benchmark's main thread, on the other core).
 */
export function loadInWorker(spec: HttpLoadSpec): Promise<HttpLoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: spec });
    worker.once('message', (result: HttpLoadResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load worker exited with ${code}`));
    });
  });
}

if (!isMainThread && parentPort && (workerData as HttpLoadSpec | undefined)?.url) {
  parentPort.postMessage(await runLoad(workerData as HttpLoadSpec));
}
