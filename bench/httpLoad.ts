import { connect } from 'node:net';
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
  /** Answers by HTTP status code. */
  statuses: Record<string, number>;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The request's bytes, sent as is on every keep-alive round (HTTP/1.1, Content-Length framing). */
function requestBytes(spec: HttpLoadSpec): Buffer {
  const url = new URL(spec.url);
  const body = spec.body === undefined ? Buffer.alloc(0) : Buffer.from(spec.body);
  const headers = { ...spec.headers, host: url.host, connection: 'keep-alive', 'content-length': String(body.length) };
  const head = [`${spec.method} ${url.pathname}${url.search} HTTP/1.1`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body]);
}

/**
 * Where the first complete response in `buffer` ends and its status code, or undefined while it is
 * incomplete. Content-Length and chunked framing, which is all fastify sends.
 */
function completeResponse(buffer: Buffer): { end: number; status: number } | undefined {
  const headerEnd = buffer.indexOf('\r\n\r\n');
  if (headerEnd < 0) return undefined;
  const head = buffer.subarray(0, headerEnd).toString('latin1');
  const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!statusLine) throw new Error(`not an HTTP/1.1 response: ${head.split('\r\n')[0]}`);
  const status = Number(statusLine[1]);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) {
    const end = headerEnd + 4 + Number(length[1]);
    return buffer.length >= end ? { end, status } : undefined;
  }
  if (!/\r\ntransfer-encoding:\s*chunked/i.test(head)) throw new Error(`a response without Content-Length or chunked framing: ${head.split('\r\n')[0]}`);
  let position = headerEnd + 4;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', position);
    if (lineEnd < 0) return undefined;
    const size = parseInt(buffer.subarray(position, lineEnd).toString('latin1'), 16);
    position = lineEnd + 2 + size + 2;
    if (buffer.length < position) return undefined;
    if (size === 0) return { end: position, status };
  }
}

/**
 * A closed loop per connection on raw keep-alive sockets, the way wrk and autocannon load a server: the
 * client's own cost per request stays far below the service's (node:http's client cost about two
 * thirds of a core here and capped a bare node:http server at ~4k req/s, this one lets it answer ~12k).
 */
async function runLoad(spec: HttpLoadSpec): Promise<HttpLoadResult> {
  const url = new URL(spec.url);
  const request = requestBytes(spec);
  if (url.protocol !== 'http:') throw new Error(`the load generator speaks plain HTTP/1.1 only, not ${url.protocol}`);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + spec.durationMs;
  const oneConnection = () =>
    new Promise<void>((resolve, reject) => {
      const socket = connect(Number(url.port || 80), url.hostname);
      socket.setNoDelay(true);
      let buffer: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      const send = () => {
        sentAt = performance.now();
        socket.write(request);
      };
      socket.on('connect', send);
      socket.on('error', reject);
      socket.on('close', () => resolve());
      socket.on('data', (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        for (;;) {
          let response: { end: number; status: number } | undefined;
          try {
            response = completeResponse(buffer);
          } catch (error) {
            socket.destroy();
            return reject(error as Error);
          }
          if (!response) return;
          latencies.push(performance.now() - sentAt);
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
          buffer = buffer.subarray(response.end);
          if (performance.now() >= deadline) return socket.end();
          send();
        }
      });
    });
  await Promise.all(Array.from({ length: spec.connections }, oneConnection));
  const seconds = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  const failures = latencies.length - (statuses['200'] ?? 0);
  return { requests: latencies.length, failures, statuses, requestsPerSecond: latencies.length / seconds, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) };
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
