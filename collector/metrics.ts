import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { memoryUsage } from 'node:process';

// Prometheus text on an optional port: what was read, sent, acknowledged and
// dropped (by reason), unread bytes per file, Kafka errors, and the process's
// CPU, memory and event loop lag. Written here rather than with prom-client
// (which the aggregator and query API use): a handful of counters do not
// need it, and loading it cost the sidecar about 2 MiB of RSS, with an event
// loop histogram and a GC observer running between scrapes.
//
// node:http is loaded with require, not import: an ES import of a built-in
// reads every export to build the module namespace, and node:http's exports
// include getters (WebSocket, MessageEvent, CloseEvent) that load node's
// bundled undici, 800 KiB of JavaScript compiled and run for nothing: about
// 3 MiB of the collector's RSS at 1,000 lines/s and 4 MiB idle (BENCHMARKS.md,
// collector RSS). require returns the module object and leaves its getters alone.
const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export type DropReason = 'line_truncated' | 'nul_bytes' | 'file_gone_at_start';

const PREFIX = 'sparklogs_collector_';

class Counter<L extends string = never> {
  private readonly values = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName?: string,
  ) {
    if (!labelName) this.values.set('', 0);
  }

  /** inc(n) or, for a labelled counter, inc({ label: value }, n); n defaults to 1. */
  inc(labelsOrN?: Record<string, L> | number, by?: number): void {
    const labels = typeof labelsOrN === 'object' ? labelsOrN : undefined;
    const n = (typeof labelsOrN === 'number' ? labelsOrN : by) ?? 1;
    if (!Number.isFinite(n) || n < 0) throw new Error(`${this.name}: a counter only goes up, not by ${n}`);
    const key = this.labelName ? labels?.[this.labelName] : '';
    if (key === undefined) throw new Error(`${this.name}: the label ${this.labelName} is required`);
    this.values.set(key, (this.values.get(key) ?? 0) + n);
  }

  text(): string {
    const rows = [...this.values].map(([v, n]) => `${this.name}${this.labelName ? `{${this.labelName}="${escapeLabel(v)}"}` : ''} ${n}`);
    return header(this.name, this.help, 'counter') + rows.map((r) => `${r}\n`).join('');
  }
}

function header(name: string, help: string, type: 'counter' | 'gauge'): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function gauge(name: string, help: string, rows: [labels: string, value: number][]): string {
  return header(name, help, 'gauge') + rows.map(([l, v]) => `${name}${l} ${v}\n`).join('');
}

/** How late a callback queued now runs: the event loop's current lag, measured only when scraped. */
function eventLoopLagSeconds(): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => setImmediate(() => resolve(Number(process.hrtime.bigint() - t0) / 1e9)));
}

const startSeconds = Math.round(Date.now() / 1000 - process.uptime());

export function createMetrics(unread: () => { file: string; bytes: number }[]) {
  const c = <L extends string = never>(name: string, help: string, labelName?: string) => new Counter<L>(`${PREFIX}${name}`, help, labelName);
  const counters = {
    linesRead: c('lines_read_total', 'Events read from files (a multiline event counts once).'),
    bytesRead: c('bytes_read_total', 'Bytes read from files.'),
    linesSent: c('lines_sent_total', 'Events handed to Kafka (re-sends after a failure count again).'),
    messagesSent: c('messages_sent_total', 'Kafka messages (batches) handed to Kafka.'),
    linesAcked: c('lines_acked_total', 'Events acknowledged by all in-sync replicas.'),
    dropped: c<DropReason>('dropped_total', 'What was not shipped as written, by reason (bytes for truncation and NULs, files for gone files).', 'reason'),
    kafkaErrors: c('kafka_errors_total', 'Failed produce requests (each is retried).'),
    truncations: c('file_truncations_total', 'Files found truncated (copytruncate): read again from 0 under a new file id.'),
    checkpoints: c('checkpoints_total', 'Checkpoint files written.'),
  };
  const all: Counter<string>[] = Object.values(counters);
  return {
    ...counters,
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    /** The Prometheus text exposition of every metric, as of now. */
    async text(): Promise<string> {
      const lag = await eventLoopLagSeconds();
      const cpu = process.cpuUsage();
      const mem = memoryUsage();
      const g = (name: string, help: string, value: number) => gauge(`${PREFIX}${name}`, help, [['', value]]);
      return [
        ...all.map((x) => x.text()),
        gauge(`${PREFIX}unread_bytes`, 'Bytes of a tailed file not yet acknowledged by Kafka (unread or in flight).', unread().map((u) => [`{file="${escapeLabel(u.file)}"}`, u.bytes])),
        header(`${PREFIX}process_cpu_seconds_total`, 'User and system CPU time spent, in seconds.', 'counter') + `${PREFIX}process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}\n`,
        g('process_resident_memory_bytes', 'Resident memory size in bytes.', mem.rss),
        g('process_start_time_seconds', 'Start time of the process since the epoch, in seconds.', startSeconds),
        g('nodejs_heap_size_total_bytes', 'V8 heap size in bytes.', mem.heapTotal),
        g('nodejs_heap_size_used_bytes', 'V8 heap used in bytes.', mem.heapUsed),
        g('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript objects (buffers), in bytes.', mem.external),
        g('nodejs_eventloop_lag_seconds', 'How late a callback queued at the scrape ran, in seconds.', lag),
      ].join('');
    },
  };
}

export type CollectorMetrics = ReturnType<typeof createMetrics>;

export function serveMetrics(m: Pick<CollectorMetrics, 'text' | 'contentType'>, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: GET /metrics\n');
      return;
    }
    m.text().then(
      (text) => res.writeHead(200, { 'content-type': m.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server.unref()));
  });
}
