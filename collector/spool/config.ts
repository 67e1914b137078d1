import { Type } from '@sinclair/typebox';
import { CollectorConfigSchema } from '../config.js';

// Settings of sparklogs-spool (flags or SPARKLOGS_* variables): the Kafka side
// is the collector's own (same names, defaults and bounds), plus the spool.

export const SpoolConfigSchema = Type.Composite([
  Type.Pick(CollectorConfigSchema, ['kafkaBrokers', 'prefix', 'logLevel', 'compression', 'requestTimeoutMs', 'retryMaxMs', 'batchMaxBytes']),
  Type.Object({
    spoolDir: Type.String({ minLength: 1, description: 'The spool directory collectors write to (same hostPath).' }),
    scanIntervalMs: Type.Integer({ description: 'How often the directory is looked at for new entries.', default: 2000, minimum: 50, maximum: 600_000 }),
    chunkBytes: Type.Integer({ description: 'Bytes of an entry decoded and sent at once (bounds memory).', default: 4 << 20, minimum: 65_536, maximum: 256 << 20 }),
    once: Type.Boolean({ description: 'Ship what is there now, then exit (0: all shipped; 1: something failed).', default: false }),
  }),
]);
