// A throwaway Kafka and/or Elasticsearch of a test's own, on free loopback
// ports, for the scenarios that stop or restart a server: the shared test
// stack must never be stopped under other tests' feet.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, rootDir } from '../../deploy/local/demo/paths.js';

const run = promisify(execFile);
const stackScript = join(rootDir, 'deploy/local/stack');

export type Server = 'kafka' | 'elasticsearch';

export interface PrivateStack {
  brokers: string[];
  esUrl: string;
  dir: string;
  stop(which: Server): Promise<void>;
  start(which: Server): Promise<void>;
  destroy(): Promise<void>;
}

export interface PrivateStackOptions {
  kafka?: boolean;
  elasticsearch?: boolean;
  /** Extra elasticsearch.yml lines, e.g. { 'thread_pool.write.queue_size': '2' }. */
  esSettings?: Record<string, string>;
}

/** Where the stack script caches installed servers (its SPARKLOGS_HOME default). */
export function cacheHome(): string {
  if (process.env.SPARKLOGS_HOME) return process.env.SPARKLOGS_HOME;
  if (process.getuid?.() === 0) return '/var/lib/sparklogs';
  return join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/tmp', '.cache'), 'sparklogs');
}

export async function startPrivateStack(o: PrivateStackOptions = {}): Promise<PrivateStack> {
  const want: Server[] = [];
  if (o.kafka !== false) want.push('kafka');
  if (o.elasticsearch !== false) want.push('elasticsearch');
  const home = cacheHome();
  const dir = join(home, 'private-stacks', randomBytes(4).toString('hex'));
  const [kafkaPort, controllerPort, esPort, transportPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    SPARKLOGS_HOME: home,
    SPARKLOGS_STACK_DIR: dir,
    SPARKLOGS_KAFKA_PORT: String(kafkaPort),
    SPARKLOGS_KAFKA_CONTROLLER_PORT: String(controllerPort),
    SPARKLOGS_ES_PORT: String(esPort),
    SPARKLOGS_ES_TRANSPORT_PORT: String(transportPort),
    SPARKLOGS_ES_HEAP: '512m',
    SPARKLOGS_KAFKA_HEAP: '256m',
    SPARKLOGS_ES_SETTINGS: Object.entries(o.esSettings ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n'),
  };
  const stack = async (cmd: string, which: Server) => {
    await run('bash', [stackScript, cmd, which], { env, timeout: 240_000 });
  };
  const stack_: PrivateStack = {
    brokers: [`127.0.0.1:${kafkaPort}`],
    esUrl: `http://127.0.0.1:${esPort}`,
    dir,
    stop: (which) => stack('down', which),
    start: (which) => stack('up', which),
    async destroy() {
      await run('bash', [stackScript, 'down'], { env, timeout: 120_000 }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const w of want) await stack('up', w);
  } catch (err) {
    await stack_.destroy();
    throw err;
  }
  return stack_;
}
