// The benchmark's own Kafka and Elasticsearch, so a run never loads the stack
// other engineers test on. Unlike a test's private stack its directory is
// fixed and kept after the run (servers stopped): the 10-million-line store
// of the query benchmark is generated once and found again next time.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheHome } from './generate.js';

const run = promisify(execFile);
const stackScript = join(import.meta.dirname, '../../deploy/local/stack');

export interface BenchStack {
  brokers: string[];
  esUrl: string;
  /** Stops the servers this harness started (the data stays for the next run). */
  stop(): Promise<void>;
}

export async function startBenchStack(log: (s: string) => void): Promise<BenchStack> {
  const home = cacheHome();
  const kafkaPort = Number(process.env.SPARKLOGS_BENCH_KAFKA_PORT ?? 29092);
  const esPort = Number(process.env.SPARKLOGS_BENCH_ES_PORT ?? 29200);
  const env = {
    ...process.env,
    SPARKLOGS_HOME: home,
    SPARKLOGS_STACK_DIR: process.env.SPARKLOGS_BENCH_STACK_DIR ?? join(home, 'bench-stack'),
    SPARKLOGS_KAFKA_PORT: String(kafkaPort),
    SPARKLOGS_ES_PORT: String(esPort),
    SPARKLOGS_ES_HEAP: process.env.SPARKLOGS_BENCH_ES_HEAP ?? '1g',
    SPARKLOGS_KAFKA_HEAP: process.env.SPARKLOGS_BENCH_KAFKA_HEAP ?? '512m',
  };
  log(`bench: starting the benchmark stack in ${env.SPARKLOGS_STACK_DIR} (Kafka ${kafkaPort}, Elasticsearch ${esPort})\n`);
  await run('bash', [stackScript, 'up'], { env, timeout: 300_000 });
  return {
    brokers: [`127.0.0.1:${kafkaPort}`],
    esUrl: `http://127.0.0.1:${esPort}`,
    async stop() {
      await run('bash', [stackScript, 'down'], { env, timeout: 120_000 }).catch((err: Error) => log(`bench: stopping the stack failed: ${err.message}\n`));
    },
  };
}
