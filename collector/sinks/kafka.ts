// The collector's only door to Kafka (the one file on this side that imports
// kafkajs). It sends whole batches and resolves only when every in-sync
// replica has acknowledged them: the checkpoint advances on that promise.
import { createRequire } from 'node:module';
import { gzip, gzipSync, unzip } from 'node:zlib';
import { promisify } from 'node:util';
import kafkajs, { Kafka, CompressionTypes, logLevel, type Producer } from 'kafkajs';
import { kafkaLogBridge, type Logger } from '../../contract/log.js';

interface RequestQueueProto {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

/**
 * kafkajs 2.2.4 re-arms a 1 ms timer forever on every connection once its
 * first request completed, even with nothing pending and no throttling
 * (tulios/kafkajs issues 1556 and 1704, fix proposed in pull requests 1667 and
 * 1768, unreleased): about 1,000 wake-ups a second per broker connection,
 * most of an idle collector's CPU. Skip the check when there is nothing to
 * check: a request queued later schedules its own (push() and the completion
 * of an in-flight request both call checkPendingRequests).
 */
function patchRequestQueueBusyLoop(): void {
  const rq = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueProto & { __sparklogsPatched?: boolean } };
  const proto = rq.prototype;
  if (proto.__sparklogsPatched || typeof proto.scheduleCheckPendingRequests !== 'function') return;
  const original = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function (this: RequestQueueProto) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    original.call(this);
  };
  proto.__sparklogsPatched = true;
}
patchRequestQueueBusyLoop();

/**
 * kafkajs's gzip codec runs every batch through zlib's streaming path in
 * 16 KiB chunks, each a round trip to the thread pool, at level 6. This one
 * uses level 1 (a collector's CPU is the pod's: on Spark lines it costs about
 * half of level 6's CPU for about 16% more bytes), compresses the small
 * batches of a lightly loaded collector in one synchronous call (under a
 * millisecond for 64 KiB), and sends large batches (a collector catching up)
 * to the thread pool in one chunk, so they still compress beside the main
 * thread. The output is plain gzip: consumers decode it as before.
 */
const GZIP_LEVEL = 1;
const GZIP_SYNC_BELOW = 256 * 1024;
const gzipAsync = promisify(gzip);
const unzipAsync = promisify(unzip);
kafkajs.CompressionCodecs[CompressionTypes.GZIP] = () => ({
  async compress(encoder: { buffer: Buffer }) {
    const b = encoder.buffer;
    if (b.length < GZIP_SYNC_BELOW) return gzipSync(b, { level: GZIP_LEVEL });
    return gzipAsync(b, { level: GZIP_LEVEL, chunkSize: Math.min(b.length, 4 << 20) });
  },
  async decompress(b: Buffer) {
    return unzipAsync(b);
  },
});

export interface KafkaSinkOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  compression: 'none' | 'gzip';
  /** How long one produce request may wait for acks before it counts as failed. */
  requestTimeoutMs: number;
  log: Logger;
}

export interface OutMessage {
  key: string;
  value: Buffer;
}

export interface LineSink {
  /** Resolves when all messages are acknowledged by all in-sync replicas; rejects otherwise (nothing is retried here). */
  send(messages: OutMessage[]): Promise<void>;
  close(): Promise<void>;
}

export class KafkaSendError extends Error {
  readonly code = 'KAFKA_SEND_FAILED';
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KafkaSendError';
  }
}

export async function createKafkaSink(o: KafkaSinkOptions): Promise<LineSink> {
  const kafka = new Kafka({
    clientId: o.clientId,
    brokers: o.brokers,
    connectionTimeout: 3000,
    requestTimeout: o.requestTimeoutMs,
    // The collector owns retries (with backoff, reading paused): one quick
    // retry here only smooths over a leader change.
    retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogBridge(o.log),
  });
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 5 });
  let connected = false;
  const compression = o.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;

  return {
    async send(messages) {
      if (messages.length === 0) return;
      try {
        if (!connected) {
          await producer.connect();
          connected = true;
        }
        await producer.send({ topic: o.topic, acks: -1, timeout: o.requestTimeoutMs, compression, messages });
      } catch (err) {
        throw new KafkaSendError(`produce to ${o.topic} failed: ${(err as Error).message}`, { cause: err });
      }
    },
    async close() {
      if (connected) await producer.disconnect().catch(() => undefined);
      connected = false;
    },
  };
}
