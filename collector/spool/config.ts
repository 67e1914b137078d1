import { Type } from '@sinclair/typebox';
import { DEFAULT_PREFIX } from '../../contract/names.js';

// Settings of sparklogs-spool (flags or SPARKLOGS_* variables).

export const SpoolConfigSchema = Type.Object({
  spoolDir: Type.String({ minLength: 1, description: 'The spool directory collectors write to (same hostPath).' }),
  kafkaBrokers: Type.Array(Type.String({ minLength: 1 }), { description: 'Kafka bootstrap servers.', default: ['127.0.0.1:9092'], minItems: 1 }),
  prefix: Type.String({ description: 'Name prefix of the topic (<prefix>.lines).', default: DEFAULT_PREFIX, pattern: '^[a-z0-9][a-z0-9._-]*$' }),
  logLevel: Type.Union(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((l) => Type.Literal(l)), { description: 'Level of its own logs.', default: 'info' }),
  compression: Type.Union([Type.Literal('gzip'), Type.Literal('none')], { description: 'Compression of Kafka messages.', default: 'gzip' }),
  requestTimeoutMs: Type.Integer({ description: 'How long one produce request waits for acks of all in-sync replicas.', default: 10_000, minimum: 1000, maximum: 300_000 }),
  retryMaxMs: Type.Integer({ description: 'Longest wait between Kafka retries.', default: 10_000, minimum: 100, maximum: 300_000 }),
  scanIntervalMs: Type.Integer({ description: 'How often the directory is looked at for new entries.', default: 2000, minimum: 50, maximum: 600_000 }),
  batchMaxBytes: Type.Integer({ description: 'Most text bytes in one Kafka message.', default: 256 * 1024, minimum: 4096, maximum: 900 * 1024 }),
  chunkBytes: Type.Integer({ description: 'Bytes of an entry decoded and sent at once (bounds memory).', default: 4 << 20, minimum: 65_536, maximum: 256 << 20 }),
  once: Type.Boolean({ description: 'Ship what is there now, then exit (0: all shipped; 1: something failed).', default: false }),
});
