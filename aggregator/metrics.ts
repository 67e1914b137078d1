// What the aggregator counts, and the one small HTTP server Kubernetes probes
// and Prometheus scrape: GET /metrics, /healthz (the process is alive),
// /readyz (in the consumer group and the store accepts writes).
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  linesConsumed: Counter;
  linesIndexed: Counter;
  linesDeadLettered: Counter<'code'>;
  recordsDeadLettered: Counter<'code'>;
  bulkSeconds: Histogram;
  bulkItems: Histogram;
  bulkRetries: Counter<'reason'>;
  storeAvailable: Gauge;
  consumerLag: Gauge<'partition'>;
}

export function createMetrics(lag: () => Promise<{ partition: number; lag: number }[]>): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sparklogs_aggregator_' });
  const r = [registry];
  return {
    registry,
    linesConsumed: new Counter({ name: 'sparklogs_aggregator_lines_consumed_total', help: 'Log events decoded from Kafka records.', registers: r }),
    linesIndexed: new Counter({ name: 'sparklogs_aggregator_lines_indexed_total', help: 'Log events stored in Elasticsearch (replays included).', registers: r }),
    linesDeadLettered: new Counter({ name: 'sparklogs_aggregator_lines_dead_lettered_total', help: 'Log events Elasticsearch refused for good, sent to the dead-letter topic.', labelNames: ['code'], registers: r }),
    recordsDeadLettered: new Counter({ name: 'sparklogs_aggregator_records_dead_lettered_total', help: 'Kafka records that could not be decoded, sent to the dead-letter topic.', labelNames: ['code'], registers: r }),
    bulkSeconds: new Histogram({ name: 'sparklogs_aggregator_bulk_seconds', help: 'Latency of one bulk request.', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: r }),
    bulkItems: new Histogram({ name: 'sparklogs_aggregator_bulk_items', help: 'Items in one bulk request.', buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000, 50000], registers: r }),
    bulkRetries: new Counter({ name: 'sparklogs_aggregator_bulk_retries_total', help: 'Retries of bulk items or whole requests.', labelNames: ['reason'], registers: r }),
    storeAvailable: new Gauge({ name: 'sparklogs_aggregator_store_available', help: '1 while Elasticsearch accepts writes, 0 while consumption is paused for it.', registers: r }),
    consumerLag: new Gauge({
      name: 'sparklogs_aggregator_consumer_lag', help: 'Records of the lines topic not yet committed by the group, per partition.', labelNames: ['partition'], registers: r,
      async collect() {
        // A scrape must not hang on an unreachable broker.
        const lags = await Promise.race([lag(), new Promise<undefined>((res) => setTimeout(() => res(undefined), 3000).unref())]).catch(() => undefined);
        if (!lags) return;
        this.reset();
        for (const p of lags) this.set({ partition: String(p.partition) }, p.lag);
      },
    }),
  };
}

export function startMetricsServer(m: Metrics, host: string, port: number, ready: () => boolean): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
    } else if (path === '/metrics') {
      m.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': m.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
