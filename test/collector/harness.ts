// What the collector tests share: a topic on the real Kafka, a reader that
// consumes it (through the aggregator's consumer wrapper, the real client),
// and the real collector binary as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaSource, type KafkaSource } from '../../aggregator/sources/kafka.js';
import { decodeBatch, names, type Batch, type LogEvent, type Names } from '../../contract/index.js';
import { testLog } from '../helpers/log.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { markedRetriable, retrying, SLOW_MS } from '../helpers/wait.js';

export const BIN = join(process.cwd(), 'dist/collector/main.js');

export interface Got extends LogEvent {
  fileId: string;
  fileSeq: number;
  file: string;
}

/**
 * Creates the lines and dead-letter topics of `prefix` on `brokers` if they do
 * not exist. Retried while Kafka says the failure is retriable (the product's
 * KafkaSourceError marks it so): a broker just started or restarted on a busy
 * machine can take longer than the admin client's 5 s to elect the new
 * topics' leaders. A fresh client each try, so a failed connect is not reused.
 */
export async function ensureTopics(brokers: string[], n: Names, partitions = 1): Promise<void> {
  await retrying(
    async () => {
      const admin = createKafkaSource({ brokers, clientId: 'test-admin', groupId: 'test-admin', topic: n.linesTopic, deadLetterTopic: n.deadLetterTopic, sessionTimeoutMs: 10_000, maxBytesPerPartition: 1 << 20, log: testLog });
      try {
        await admin.ensureTopics(partitions);
      } finally {
        await admin.stop();
      }
    },
    { what: `creating topic ${n.linesTopic}`, retriable: markedRetriable },
  );
}

/** Consumes the lines topic from the beginning and keeps every event, in arrival order. */
export class TopicReader {
  readonly batches: Batch[] = [];
  /** Kafka offsets of the records read (partition:offset), to tell a record never read from one read twice. */
  readonly offsets = new Set<string>();
  /** Distinct (fileId, off) read so far, kept as records arrive: waitForCount polls this, not stored(), which sorts everything. */
  private readonly seen = new Map<string, Set<number>>();
  private distinctCount = 0;
  private readonly source: KafkaSource;
  private stopped = false;
  /** Why the consumer gave up for good (its own retries spent), shown by waitFor. */
  private failure: Error | undefined;

  private constructor(private readonly brokers: string[], readonly prefix: string, readonly topic: string, deadLetterTopic: string) {
    // A 30 s session (the product's default): on a busy machine, with this process decoding hundreds of thousands of
    // events, a 10 s one saw the reader evicted over and over, each time reading the topic again from its start.
    this.source = createKafkaSource({
      brokers, clientId: 'test-reader', groupId: `${prefix}-reader`, topic, deadLetterTopic, sessionTimeoutMs: 30_000, maxBytesPerPartition: 4 << 20, log: testLog,
      onFatal: (err) => {
        this.failure = err;
      },
    });
  }

  /** A reader of a fresh topic, or (same `prefix`) a second reader of an existing one, from its beginning. */
  static async create(label: string, brokers = testStack().brokers, prefix?: string): Promise<TopicReader> {
    const n = prefix ? { ...names(prefix), prefix } : uniqueNames(label);
    await ensureTopics(brokers, n);
    const r = new TopicReader(brokers, n.prefix, n.linesTopic, n.deadLetterTopic);
    // Joining the group on a broker that has just (re)started can fail for a
    // while (coordinator loading, connection refused): tried again, bounded.
    void retrying(
      () =>
        r.source.run(async (b, ctl) => {
          for (const m of b.messages) {
            const batch = decodeBatch(m.value);
            r.batches.push(batch);
            r.offsets.add(`${b.partition}:${m.offset}`);
            let offs = r.seen.get(batch.src.fileId);
            if (!offs) r.seen.set(batch.src.fileId, (offs = new Set()));
            for (const l of batch.lines) {
              if (!offs.has(l.off)) {
                offs.add(l.off);
                r.distinctCount++;
              }
            }
          }
          // Without resolving, the wrapper fetches the same batch again.
          const last = b.messages.at(-1);
          if (last) ctl.resolveOffset(last.offset);
        }),
      { what: `consuming ${n.linesTopic}`, retriable: (err) => !r.stopped && (markedRetriable(err) || (err as Error).name === 'KafkaJSNumberOfRetriesExceeded') },
    ).catch((err: Error) => {
      if (!r.stopped) r.failure = err;
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

  /**
   * Waits until `pred` holds. Fails when no new record has arrived for
   * `timeoutMs` (default minutes: Kafka, the collector and this reader all
   * slow down on a busy machine), or after five times that in all, or at once
   * when the reader's consumer has failed for good.
   */
  async waitFor(pred: () => boolean, timeoutMs = SLOW_MS, what = 'events'): Promise<void> {
    const start = Date.now();
    let seen = this.batches.length;
    let progressAt = start;
    while (!pred()) {
      if (this.failure) throw new Error(`waiting for ${what}: the reader of ${this.topic} failed: ${this.failure.message}`, { cause: this.failure });
      const now = Date.now();
      if (this.batches.length !== seen) {
        seen = this.batches.length;
        progressAt = now;
      }
      if (now - progressAt > timeoutMs || now - start > 5 * timeoutMs) {
        throw new Error(`timed out waiting for ${what} on ${this.topic}: have ${this.events().length} events (${this.distinctCount} distinct) in ${this.batches.length} records, the last record came ${Math.round((now - progressAt) / 1000)} s ago, ${Math.round((now - start) / 1000)} s in all`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async waitForCount(n: number, timeoutMs = SLOW_MS): Promise<void> {
    await this.waitFor(() => this.distinctCount >= n, timeoutMs, `${n} stored events`);
  }

  /**
   * Waits until this reader has consumed every record the topic holds now
   * (its high watermarks). Once the collector has exited nothing more can
   * come, so what is compared after this is all there is: a condition in
   * place of a fixed pause, which a busy machine's slow consumer can outlast.
   */
  async drained(timeoutMs = SLOW_MS): Promise<void> {
    const admin = new Kafka({ clientId: 'test-offsets', brokers: this.brokers, logLevel: logLevel.NOTHING }).admin();
    try {
      const offsets = await retrying(
        async () => {
          await admin.connect();
          return admin.fetchTopicOffsets(this.topic);
        },
        { what: `the offsets of ${this.topic}`, retriable: (err) => markedRetriable(err) || (err as Error).name === 'KafkaJSNumberOfRetriesExceeded' },
      );
      const total = offsets.reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
      await this.waitFor(() => this.batches.length >= total, timeoutMs, `all ${total} records of the topic`);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.source.stop();
  }
}

export interface Child {
  proc: ChildProcess;
  logs: Record<string, unknown>[];
  stderr: string;
  exited: Promise<number | null>;
  /** The first log record of `event`; fails when the collector exits first, or after `timeoutMs` (default minutes). */
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
    async waitLog(event, timeoutMs = SLOW_MS) {
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

/** SIGTERM and wait for the exit code, bounded (the collector's own shutdown deadline decides; this only guards against a hang). */
export async function stopCollector(c: Child, timeoutMs = 120_000): Promise<number | null> {
  if (c.proc.exitCode !== null) return c.proc.exitCode;
  c.proc.kill('SIGTERM');
  return withTimeout(c.exited, timeoutMs, 'collector exit');
}

export async function killCollector(c: Child): Promise<void> {
  if (c.proc.exitCode === null && c.proc.signalCode === null) {
    c.proc.kill('SIGKILL');
    await withTimeout(c.exited, 60_000, 'collector SIGKILL');
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
