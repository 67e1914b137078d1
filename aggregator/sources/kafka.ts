// The aggregator's only door to Kafka (the one file on this side that imports
// kafkajs): the consumer group over the lines topic, the dead-letter producer
// and the admin calls (topics, lag). Offsets are committed only by commit(),
// which the pipeline calls after every item of a batch is stored or
// dead-lettered.
import { Kafka, logLevel, type Admin, type Consumer, type IHeaders, type Producer } from 'kafkajs';
import { kafkaLogBridge, type Logger } from '../../contract/log.js';
import { backoffMs, sleep } from '../../contract/retry.js';

export interface KafkaSourceOptions {
  brokers: string[];
  clientId: string;
  groupId: string;
  topic: string;
  deadLetterTopic: string;
  sessionTimeoutMs: number;
  /** Upper bound of bytes fetched per partition per request: bounds memory. */
  maxBytesPerPartition: number;
  log: Logger;
  /** The consumer gave up for good (kafkajs will not restart it): the process should exit and be restarted. */
  onFatal?: (err: Error) => void;
}

export interface InMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers: Record<string, string>;
}

export interface InBatch {
  topic: string;
  partition: number;
  highWatermark: string;
  messages: InMessage[];
}

export interface BatchControl {
  heartbeat(): Promise<void>;
  /** True once a rebalance took the partition away: stop and do not commit. */
  isStale(): boolean;
  isRunning(): boolean;
  /** Stop fetching this partition until resume() (the store is unavailable). */
  pause(): () => void;
  /**
   * Marks the partition consumed up to `offset` (inclusive) so the next fetch
   * starts after it; call it after commit(). Without it the consumer would
   * fetch the same records again.
   */
  resolveOffset(offset: string): void;
}

export interface DeadLetter {
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
  code: string;
  source: { topic: string; partition: number; offset: string };
}

/** A topic as ensureTopics found or made it. */
export interface TopicState {
  topic: string;
  /** The partitions it has, whatever was asked. */
  partitions: number;
  /** Made by this call (not by an earlier run, nor by another process meanwhile). */
  created: boolean;
  /** A record was ever appended (a high watermark above 0): its keys are already bound to partitions. */
  written: boolean;
}

export interface KafkaSource {
  /** Creates the lines and dead-letter topics that are missing (existing ones are left as they are) and says what each has. */
  ensureTopics(partitions: number, retentionMs?: number): Promise<TopicState[]>;
  /** Raises a topic's partitions to `count`; returns how many it has then (more, when another process raised it further). */
  addPartitions(topic: string, count: number): Promise<number>;
  /** `concurrency`: partitions handled at once (each handler call is one partition's batch). */
  run(handle: (batch: InBatch, ctl: BatchControl) => Promise<void>, concurrency?: number): Promise<void>;
  commit(topic: string, partition: number, nextOffset: string): Promise<void>;
  deadLetter(items: DeadLetter[]): Promise<void>;
  /** Per partition: high watermark minus committed offset of the group. */
  lag(): Promise<{ partition: number; lag: number }[]>;
  stop(): Promise<void>;
}

export class KafkaSourceError extends Error {
  constructor(
    readonly code: 'KAFKA_DEAD_LETTER_FAILED' | 'KAFKA_COMMIT_FAILED' | 'KAFKA_ADMIN_FAILED',
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KafkaSourceError';
  }
}

function stringHeaders(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) if (v !== undefined) out[k] = (Array.isArray(v) ? v[0] : v)?.toString() ?? '';
  return out;
}

export function createKafkaSource(o: KafkaSourceOptions): KafkaSource {
  const kafka = new Kafka({
    clientId: o.clientId,
    brokers: o.brokers,
    connectionTimeout: 3000,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogBridge(o.log),
  });
  const consumer: Consumer = kafka.consumer({
    groupId: o.groupId,
    sessionTimeout: o.sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.floor(o.sessionTimeoutMs / 10)),
    maxBytesPerPartition: o.maxBytesPerPartition,
    maxBytes: o.maxBytesPerPartition * 4,
    allowAutoTopicCreation: false,
  });
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) o.onFatal?.(e.payload.error);
  });
  let producer: Producer | undefined;
  let admin: Admin | undefined;

  async function getAdmin(): Promise<Admin> {
    if (!admin) {
      admin = kafka.admin();
      await admin.connect();
    }
    return admin;
  }

  return {
    async ensureTopics(partitions, retentionMs) {
      try {
        const a = await getAdmin();
        const wanted = [o.topic, o.deadLetterTopic];
        const existing = new Set(await a.listTopics());
        const configEntries = retentionMs ? [{ name: 'retention.ms', value: String(retentionMs) }] : [];
        const topics = wanted
          .filter((t) => !existing.has(t))
          .map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1, configEntries }));
        // kafkajs waits 5 s for the new partitions' leaders by default; a broker under load
        // (or still electing after a restart) can take longer, and giving up then only means
        // the next attempt finds the topic half made. The wait is bounded by the session
        // timeout's scale instead: long enough for a busy broker, short enough to retry.
        // false: another process (the setup Job, an aggregator starting beside it) made them first.
        const created = topics.length > 0 && (await a.createTopics({ topics, waitForLeaders: true, timeout: Math.max(30_000, o.sessionTimeoutMs) }));
        // A topic just made (here or by another process) may not be in every broker's metadata
        // yet: its partitions read as none, or its offsets as "not hosted here". Read again,
        // with backoff, for up to 15 s before it counts as a failure (one CI run's setup failed
        // 1.3 s in, with no retry in its caller).
        const deadline = Date.now() + 15_000;
        for (let attempt = 0; ; attempt++) {
          try {
            const meta = await a.fetchTopicMetadata({ topics: wanted });
            return await Promise.all(wanted.map(async (topic) => {
              const count = meta.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
              if (count === 0) throw Object.assign(new Error(`topic ${topic} has no partitions in the metadata yet`), { retriable: true });
              const ends = await a.fetchTopicOffsets(topic);
              return { topic, partitions: count, created: created && topics.some((t) => t.topic === topic), written: ends.some((p) => Number(p.high) > 0) };
            }));
          } catch (err) {
            if ((err as { retriable?: boolean }).retriable !== true || Date.now() > deadline) throw err;
            await sleep(backoffMs({ initialMs: 100, maxMs: 2000, factor: 2, jitter: 0.2 }, attempt));
          }
        }
      } catch (err) {
        throw new KafkaSourceError('KAFKA_ADMIN_FAILED', `creating topics failed: ${(err as Error).message}`, true, { cause: err });
      }
    },

    async addPartitions(topic, count) {
      try {
        const a = await getAdmin();
        try {
          await a.createPartitions({ topicPartitions: [{ topic, count }], timeout: Math.max(30_000, o.sessionTimeoutMs) });
          return count;
        } catch (err) {
          // Another process raised it first: the broker refuses a count that is not above the current one.
          if ((err as { type?: string }).type !== 'INVALID_PARTITIONS') throw err;
        }
        const meta = await a.fetchTopicMetadata({ topics: [topic] });
        return meta.topics[0]?.partitions.length ?? 0;
      } catch (err) {
        throw new KafkaSourceError('KAFKA_ADMIN_FAILED', `adding partitions to ${topic} failed: ${(err as Error).message}`, true, { cause: err });
      }
    },

    async run(handle, concurrency = 1) {
      await consumer.connect();
      await consumer.subscribe({ topics: [o.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: concurrency,
        eachBatch: async ({ batch, heartbeat, isStale, isRunning, pause, resolveOffset }) => {
          await handle(
            {
              topic: batch.topic,
              partition: batch.partition,
              highWatermark: batch.highWatermark,
              messages: batch.messages.map((m) => ({ offset: m.offset, key: m.key, value: m.value, timestamp: m.timestamp, headers: stringHeaders(m.headers) })),
            },
            { heartbeat, isStale, isRunning, pause, resolveOffset },
          );
        },
      });
    },

    async commit(topic, partition, nextOffset) {
      try {
        await consumer.commitOffsets([{ topic, partition, offset: nextOffset }]);
      } catch (err) {
        throw new KafkaSourceError('KAFKA_COMMIT_FAILED', `commit of ${topic}[${partition}]@${nextOffset} failed: ${(err as Error).message}`, true, { cause: err });
      }
    },

    async deadLetter(items) {
      if (items.length === 0) return;
      try {
        if (!producer) {
          producer = kafka.producer({ allowAutoTopicCreation: false });
          await producer.connect();
        }
        await producer.send({
          topic: o.deadLetterTopic,
          acks: -1,
          messages: items.map((d) => ({
            key: d.key,
            value: d.value,
            headers: {
              'sparklogs-reason': d.reason.slice(0, 2000),
              'sparklogs-code': d.code,
              'sparklogs-source': `${d.source.topic}/${d.source.partition}/${d.source.offset}`,
            },
          })),
        });
      } catch (err) {
        throw new KafkaSourceError('KAFKA_DEAD_LETTER_FAILED', `dead-letter produce failed: ${(err as Error).message}`, true, { cause: err });
      }
    },

    async lag() {
      const a = await getAdmin();
      // A broker that has just started answers "coordinator loading" (and
      // similar retriable errors) for a few seconds: retry those, bounded.
      const deadline = Date.now() + 30_000;
      let attempt = 0;
      const fetchBoth = async () => {
        for (;;) {
          try {
            return await Promise.all([a.fetchTopicOffsets(o.topic), a.fetchOffsets({ groupId: o.groupId, topics: [o.topic] })]);
          } catch (err) {
            const retriable = (err as { retriable?: boolean }).retriable === true;
            if (!retriable || Date.now() > deadline) throw err;
            await sleep(backoffMs({ initialMs: 100, maxMs: 2_000, factor: 2, jitter: 0.5 }, attempt++));
          }
        }
      };
      const [ends, committed] = await fetchBoth();
      const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      return ends.map((e) => {
        const c = done.get(e.partition) ?? -1;
        const high = Number(e.high);
        return { partition: e.partition, lag: c < 0 ? high - Number(e.low) : Math.max(0, high - c) };
      });
    },

    async stop() {
      await consumer.disconnect().catch(() => undefined);
      await producer?.disconnect().catch(() => undefined);
      await admin?.disconnect().catch(() => undefined);
    },
  };
}
