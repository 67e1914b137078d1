// The collector's only door to Kafka (the one file on this side that imports
// kafkajs). It sends whole batches and resolves only when every in-sync
// replica has acknowledged them: the checkpoint advances on that promise.
import { Kafka, CompressionTypes, logLevel, type Producer } from 'kafkajs';
import { kafkaLogBridge, type Logger } from '../../contract/log.js';

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
