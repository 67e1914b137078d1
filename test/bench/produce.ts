// Fills a lines topic with records through the collector's own Kafka sink,
// before an aggregator benchmark starts its clock.
import { createKafkaSink } from '../../collector/sinks/kafka.js';
import { encodeBatch } from '../../contract/index.js';
import { testLog } from '../helpers/log.js';
import type { Record_ } from './batches.js';
import { createTopic, type Ctx } from './context.js';

export async function fillTopic(ctx: Ctx, prefix: string, records: Record_[]): Promise<void> {
  const topic = await createTopic(ctx, prefix);
  const sink = await createKafkaSink({ brokers: ctx.brokers, clientId: 'sparklogs-bench', topic: topic.name, compression: 'gzip', requestTimeoutMs: 60_000, log: testLog });
  try {
    for (let i = 0; i < records.length; i += 32) {
      await sink.send(records.slice(i, i + 32).map((r) => ({ key: r.key, value: encodeBatch(r.batch) })));
    }
  } finally {
    await sink.close();
    await topic.close();
  }
}
