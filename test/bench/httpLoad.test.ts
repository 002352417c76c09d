import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The built module: the load runs in a worker thread, which loads the file itself (`npm test` builds first).
import { loadInWorker } from '../../dist/bench/httpLoad.js';

describe('the HTTP load generator (raw keep-alive sockets)', () => {
  let server: Server;
  let base: string;
  let served = 0;

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        served += 1;
        if (request.url === '/missing') return void response.writeHead(404).end('no');
        if (request.url === '/chunked') {
          response.writeHead(200, { 'content-type': 'text/plain' });
          response.write('part one, ');
          return void response.end('part two');
        }
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ echo: body, auth: request.headers.authorization ?? null }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('counts every answered request, with its latency, on keep-alive connections', async () => {
    served = 0;
    const result = await loadInWorker({ url: `${base}/query`, method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body: '{"sql":"select 1"}', connections: 4, durationMs: 300 });
    expect(result.requests).toBeGreaterThan(0);
    expect(result.requests).toBe(served);
    expect(result.failures).toBe(0);
    expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
  });

  it('counts answers other than 200 as failures', async () => {
    const result = await loadInWorker({ url: `${base}/missing`, method: 'GET', headers: {}, connections: 2, durationMs: 200 });
    expect(result.requests).toBeGreaterThan(0);
    expect(result.failures).toBe(result.requests);
  });

  it('reads chunked responses to their end', async () => {
    served = 0;
    const result = await loadInWorker({ url: `${base}/chunked`, method: 'GET', headers: {}, connections: 2, durationMs: 200 });
    expect(result.failures).toBe(0);
    expect(result.requests).toBe(served);
  });
});
