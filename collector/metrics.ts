import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

// Prometheus text on an optional port: what was read, sent, acknowledged and
// dropped (by reason), unread bytes per file, Kafka errors.

export type DropReason = 'line_truncated' | 'nul_bytes' | 'file_gone_at_start';

export function createMetrics(unread: () => { file: string; bytes: number }[]) {
  const registry = new Registry();
  // Event loop lag sampled once a second, not every 10 ms (prom-client's default): 100 wake-ups a second were a
  // third of an idle sidecar's CPU.
  collectDefaultMetrics({ register: registry, prefix: 'sparklogs_collector_', eventLoopMonitoringPrecision: 1000 });
  const c = (name: string, help: string, labelNames: string[] = []) => new Counter({ name: `sparklogs_collector_${name}`, help, labelNames, registers: [registry] });
  const m = {
    registry,
    linesRead: c('lines_read_total', 'Events read from files (a multiline event counts once).'),
    bytesRead: c('bytes_read_total', 'Bytes read from files.'),
    linesSent: c('lines_sent_total', 'Events handed to Kafka (re-sends after a failure count again).'),
    messagesSent: c('messages_sent_total', 'Kafka messages (batches) handed to Kafka.'),
    linesAcked: c('lines_acked_total', 'Events acknowledged by all in-sync replicas.'),
    dropped: c('dropped_total', 'What was not shipped as written, by reason (bytes for truncation and NULs, files for gone files).', ['reason']),
    kafkaErrors: c('kafka_errors_total', 'Failed produce requests (each is retried).'),
    truncations: c('file_truncations_total', 'Files found truncated (copytruncate): read again from 0 under a new file id.'),
    checkpoints: c('checkpoints_total', 'Checkpoint files written.'),
  };
  new Gauge({
    name: 'sparklogs_collector_unread_bytes',
    help: 'Bytes of a tailed file not yet acknowledged by Kafka (unread or in flight).',
    labelNames: ['file'],
    registers: [registry],
    collect() {
      this.reset();
      for (const u of unread()) this.set({ file: u.file }, u.bytes);
    },
  });
  return m;
}

export type CollectorMetrics = ReturnType<typeof createMetrics>;

export function serveMetrics(registry: Registry, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server.unref()));
  });
}
