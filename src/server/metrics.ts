import type { FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Optimizer } from '../optimizer.js';

const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The service's Prometheus metrics: HTTP requests by route and status with a latency histogram, the
 * process's own metrics, and the query totals of the optimizer's recorder (read at scrape time); the
 * exposition adds the optimizer's own metrics (`qo.metrics()`: the OpenTelemetry operation-duration
 * histogram, pool, cache, slow-query, N+1, anomaly and alert series). One registry per service, so two
 * services in one process never mix their counts.
 */
export class ServerMetrics {
  private readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly latency: Histogram<'method' | 'route'>;

  constructor(private readonly qo: Optimizer) {
    collectDefaultMetrics({ register: this.registry, prefix: 'qopt_process_' });
    this.requests = new Counter({ name: 'qopt_http_requests_total', help: 'HTTP requests answered', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
    this.latency = new Histogram({
      name: 'qopt_http_request_duration_seconds',
      help: 'Time to answer an HTTP request',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [this.registry],
    });
    const totals = () => qo.recorder.cumulativeTotals();
    new Gauge({ name: 'qopt_query_fingerprints', help: 'Distinct query fingerprints seen', registers: [this.registry], collect() { this.set(totals().fingerprints); } });
    new Gauge({ name: 'qopt_query_calls', help: 'Queries run through qopt since start', registers: [this.registry], collect() { this.set(totals().calls); } });
    new Gauge({ name: 'qopt_query_errors', help: 'Queries that failed since start', registers: [this.registry], collect() { this.set(totals().errors); } });
  }

  /** The exposition's content type. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Counts one answered request under its route pattern (not its raw URL, which would explode the label set). */
  observe(request: FastifyRequest, reply: FastifyReply): void {
    const route = request.routeOptions.url ?? 'unmatched';
    this.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    this.latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  }

  /** The Prometheus text exposition: the service's series, then the optimizer's (same text format, distinct names). */
  async text(): Promise<string> {
    const [service, optimizer] = await Promise.all([this.registry.metrics(), this.qo.metrics()]);
    return `${service.trimEnd()}\n${optimizer}`;
  }
}
