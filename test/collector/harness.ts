// What the collector tests share: a topic on the real Kafka, a reader that
// consumes it (through the aggregator's consumer wrapper, the real client),
// and the real collector binary as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaSource, type KafkaSource } from '../../aggregator/sources/kafka.js';
import { decodeBatch, names, type Batch, type LogEvent } from '../../contract/index.js';
import { testLog } from '../helpers/log.js';
import { testStack, uniqueNames } from '../helpers/stack.js';

export const BIN = join(process.cwd(), 'dist/collector/main.js');

export interface Got extends LogEvent {
  fileId: string;
  fileSeq: number;
  file: string;
}

/** Consumes the lines topic from the beginning and keeps every event, in arrival order. */
export class TopicReader {
  readonly batches: Batch[] = [];
  private readonly source: KafkaSource;

  private constructor(brokers: string[], readonly prefix: string, topic: string, deadLetterTopic: string) {
    this.source = createKafkaSource({ brokers, clientId: 'test-reader', groupId: `${prefix}-reader`, topic, deadLetterTopic, sessionTimeoutMs: 10_000, maxBytesPerPartition: 4 << 20, log: testLog });
  }

  /** A reader of a fresh topic, or (same `prefix`) a second reader of an existing one, from its beginning. */
  static async create(label: string, brokers = testStack().brokers, prefix?: string): Promise<TopicReader> {
    const n = prefix ? { ...names(prefix), prefix } : uniqueNames(label);
    const r = new TopicReader(brokers, n.prefix, n.linesTopic, n.deadLetterTopic);
    await r.source.ensureTopics(1);
    void r.source.run(async (b, ctl) => {
      for (const m of b.messages) r.batches.push(decodeBatch(m.value));
      // Without resolving, the wrapper fetches the same batch again.
      const last = b.messages.at(-1);
      if (last) ctl.resolveOffset(last.offset);
    });
    return r;
  }

  events(): Got[] {
    return this.batches.flatMap((b) => b.lines.map((l) => ({ ...l, fileId: b.src.fileId, fileSeq: b.src.fileSeq, file: b.src.file })));
  }

  /** Events deduplicated by (fileId, off), the way the stored line id does, ordered by (fileSeq, off) like the query API. */
  stored(): Got[] {
    const byId = new Map<string, Got>();
    for (const e of this.events()) byId.set(`${e.fileId}\u0000${e.off}`, e);
    return [...byId.values()].sort((a, b) => a.fileSeq - b.fileSeq || a.off - b.off);
  }

  async waitFor(pred: () => boolean, timeoutMs = 30_000, what = 'events'): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: have ${this.events().length} events`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async waitForCount(n: number, timeoutMs = 30_000): Promise<void> {
    await this.waitFor(() => this.stored().length >= n, timeoutMs, `${n} stored events`);
  }

  async stop(): Promise<void> {
    await this.source.stop();
  }
}

export interface Child {
  proc: ChildProcess;
  logs: Record<string, unknown>[];
  stderr: string;
  exited: Promise<number | null>;
  waitLog(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export function collectorEnv(prefix: string, stateDir: string, paths: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    SPARKLOGS_KAFKA_BROKERS: testStack().brokers.join(','),
    SPARKLOGS_LOG_LEVEL: 'info',
    SPARKLOGS_PREFIX: prefix,
    SPARKLOGS_STATE_DIR: stateDir,
    SPARKLOGS_PATHS: paths,
    SPARKLOGS_APP_ID: 'spark-test0001',
    SPARKLOGS_EXECUTOR_ID: '1',
    SPARKLOGS_POD_UID: 'uid-1',
    SPARKLOGS_FLUSH_TIMEOUT_MS: '300',
    SPARKLOGS_POLL_INTERVAL_MS: '50',
    SPARKLOGS_CHECKPOINT_INTERVAL_MS: '200',
    SPARKLOGS_RETRY_MAX_MS: '1000',
    ...extra,
  };
}

export function startCollector(env: Record<string, string>, args: string[] = []): Child {
  const proc = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const child: Child = {
    proc,
    logs,
    stderr: '',
    exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))),
    async waitLog(event, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = logs.find((l) => l.event === event);
        if (hit) return hit;
        if (Date.now() > end || proc.exitCode !== null) throw new Error(`no ${event} log from the collector; logs: ${JSON.stringify(logs.slice(-5))} stderr: ${child.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
  let rest = '';
  proc.stdout!.on('data', (d: Buffer) => {
    const parts = (rest + d.toString('utf8')).split('\n');
    rest = parts.pop()!;
    for (const p of parts) {
      try {
        logs.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        logs.push({ text: p });
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (child.stderr += d.toString('utf8')));
  return child;
}

/** SIGTERM and wait for the exit code, bounded. */
export async function stopCollector(c: Child, timeoutMs = 30_000): Promise<number | null> {
  if (c.proc.exitCode !== null) return c.proc.exitCode;
  c.proc.kill('SIGTERM');
  return withTimeout(c.exited, timeoutMs, 'collector exit');
}

export async function killCollector(c: Child): Promise<void> {
  if (c.proc.exitCode === null && c.proc.signalCode === null) {
    c.proc.kill('SIGKILL');
    await withTimeout(c.exited, 10_000, 'collector SIGKILL');
  }
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export async function tempDir(label: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `sparklogs-${label}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Spark-looking log lines: `yy/MM/dd HH:mm:ss INFO …`, numbered so loss, duplicates and order show. */
export function sparkLine(tag: string, i: number): string {
  return `24/11/21 06:20:${String(i % 60).padStart(2, '0')} INFO Executor: ${tag} line ${i}`;
}

/** Resident set size of a process, in MiB (Linux). */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}
