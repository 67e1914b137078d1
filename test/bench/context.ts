// What every benchmark part receives: where the servers are, the input data,
// a place for its figures, and the figures earlier parts measured (freshness
// runs at half the pipeline maximum measured before it).
import { join } from 'node:path';
import { createKafkaSource } from '../../aggregator/sources/kafka.js';
import { backoffMs, DEFAULT_RETRY, sleep } from '../../contract/retry.js';
import { testLog } from '../helpers/log.js';
import type { DataSet } from './generate.js';
import type { Figure } from './report.js';

export interface Ctx {
  quick: boolean;
  brokers: string[];
  esUrl: string;
  /** Partitions of every topic a part creates (the same topic settings for every shipper). */
  partitions: number;
  data: DataSet;
  /** Unique per run: topics and indices are `<runPrefix>-<part>…`. */
  runPrefix: string;
  out(s: string): void;
  add(f: Figure): void;
  note(s: string): void;
  /**
   * Rounds of every measurement that has a reference: the two alternate
   * (thing, reference, thing, reference, ...) and a ratio is the median of
   * the rounds' ratios (--rounds, 3; 2 in quick mode).
   */
  rounds: number;
  /** --events: events the aggregator and scale parts load (their defaults: 300,000 and 200,000). */
  events?: number;
  /** --query-apps: apps in the query store, 10 executors x 10,000 lines each (100 = the 10M-line store). */
  queryApps?: number;
  /**
   * Figures later parts and the target summary read, by name (targets.ts
   * lists the names the targets read; a part records what it measured there).
   */
  shared: Map<string, number>;
}

// The harness runs from source (tsx); the programs under test are the built binaries.
export const REPO = join(import.meta.dirname, '../..');
export const DIST = join(REPO, 'dist');

export { freePort } from '../../deploy/local/demo/paths.js';

export interface Topic {
  name: string;
  /** Messages in the topic (sum over partitions of high - low watermark). */
  messages(): Promise<number>;
  close(): Promise<void>;
}

/** Creates `<prefix>.lines` (and its dead-letter topic) as the aggregator's setup would, with the run's partition count. */
export async function createTopic(ctx: Ctx, prefix: string, partitions = ctx.partitions): Promise<Topic> {
  const name = `${prefix}.lines`;
  const admin = createKafkaSource({
    brokers: ctx.brokers, clientId: 'sparklogs-bench', groupId: `${prefix}-bench-count`, topic: name, deadLetterTopic: `${prefix}.lines.dlq`,
    sessionTimeoutMs: 10_000, maxBytesPerPartition: 1 << 20, log: testLog,
  });
  await admin.ensureTopics(partitions);
  return {
    name,
    async messages() {
      // A fresh broker answers "coordinator is loading" for a while: retry that, bounded.
      for (let attempt = 0; ; attempt++) {
        try {
          // No offsets are ever committed for this group, so its lag is the topic's size.
          return (await admin.lag()).reduce((a, p) => a + p.lag, 0);
        } catch (err) {
          if (attempt >= 8) throw err;
          await sleep(backoffMs(DEFAULT_RETRY, attempt));
        }
      }
    },
    close: () => admin.stop(),
  };
}

/** Deletes the run's indices on the benchmark's Elasticsearch (topics are left to the stack's retention). */
export async function deleteIndices(ctx: Ctx, prefix: string): Promise<void> {
  await fetch(`${ctx.esUrl}/${prefix}-*?expand_wildcards=all`, { method: 'DELETE' }).catch(() => undefined);
}
