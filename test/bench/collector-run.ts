// The collector binary (dist/collector/main.js) as the benchmarks run it: one
// process tailing the data set's files with a pod identity from the
// environment, metrics on a free port (the harness reads lines_acked_total to
// know when everything is in Kafka), and the same SIGTERM a pod gets.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, freePort } from './context.js';
import { startMeasured, type Measured } from './proc.js';
import { profileArgs } from './profile.js';

export const COLLECTOR = join(DIST, 'collector/main.js');

export interface CollectorProc {
  p: Measured;
  /** Events acknowledged by Kafka so far (undefined while the metrics port is not up yet). */
  acked(): Promise<number | undefined>;
  stop(timeoutMs?: number): Promise<Awaited<ReturnType<Measured['exited']>>>;
}

export async function metric(url: string, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text();
    let sum: number | undefined;
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  } catch {
    return undefined;
  }
}

export async function startCollector(o: { brokers: string[]; prefix: string; paths: string; executorId?: string; compression?: 'gzip' | 'none' }): Promise<CollectorProc> {
  if (!existsSync(COLLECTOR)) throw new Error(`${COLLECTOR} is not built (npm run build)`);
  const stateDir = await mkdtemp(join(tmpdir(), 'sparklogs-bench-collector-'));
  const port = await freePort();
  const executorId = o.executorId ?? '1';
  const p = await startMeasured(process.execPath, [...profileArgs(), COLLECTOR], {
    ...process.env,
    SPARKLOGS_KAFKA_BROKERS: o.brokers.join(','),
    SPARKLOGS_PREFIX: o.prefix,
    SPARKLOGS_PATHS: o.paths,
    SPARKLOGS_STATE_DIR: stateDir,
    SPARKLOGS_APP_TYPE: 'spark',
    SPARKLOGS_APP_ID: 'spark-bench0000000000000000000000000001',
    SPARKLOGS_EXECUTOR_ID: executorId,
    SPARKLOGS_ROLE: 'executor',
    SPARKLOGS_APP_NAME: 'bench',
    SPARKLOGS_NAMESPACE: 'bench',
    SPARKLOGS_POD: `bench-exec-${executorId}`,
    SPARKLOGS_POD_UID: `00000000-0000-0000-0000-${executorId.padStart(12, '0')}`,
    SPARKLOGS_METRICS_PORT: String(port),
    SPARKLOGS_LOG_LEVEL: 'warn',
    ...(o.compression ? { SPARKLOGS_COMPRESSION: o.compression } : {}),
  });
  const url = `http://127.0.0.1:${port}/metrics`;
  return {
    p,
    acked: () => metric(url, 'sparklogs_collector_lines_acked_total'),
    async stop(timeoutMs = 30_000) {
      p.signal('SIGTERM');
      const usage = await p.exited(timeoutMs);
      await rm(stateDir, { recursive: true, force: true });
      return usage;
    },
  };
}
