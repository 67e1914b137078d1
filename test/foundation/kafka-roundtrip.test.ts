// A batch produced through the collector's Kafka sink comes back, byte for
// byte and in order, through the aggregator's consumer group wrapper.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafkaSink } from '../../collector/sinks/kafka.js';
import { createKafkaSource, type InMessage } from '../../aggregator/sources/kafka.js';
import { decodeBatch, encodeBatch, kafkaKey, type Batch } from '../../contract/index.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { testLog } from '../helpers/log.js';
import { markedRetriable, retrying, SLOW_MS } from '../helpers/wait.js';

test('produce through the collector sink, consume through the aggregator source', async () => {
  const { brokers } = testStack();
  const n = uniqueNames('roundtrip');
  const source = createKafkaSource({
    brokers, clientId: 'test-agg', groupId: `${n.prefix}-group`, topic: n.linesTopic, deadLetterTopic: n.deadLetterTopic,
    sessionTimeoutMs: 10_000, maxBytesPerPartition: 1 << 20, log: testLog,
  });
  // KAFKA_ADMIN_FAILED is retriable: on a busy machine the new topics' leaders may take longer than the admin client's 5 s.
  await retrying(() => source.ensureTopics(2), { what: `creating ${n.linesTopic}`, retriable: markedRetriable });
  const sink = await createKafkaSink({ brokers, clientId: 'test-col', topic: n.linesTopic, compression: 'gzip', requestTimeoutMs: 10_000, log: testLog });

  const src = { appType: 'spark', appId: 'spark-0123456789abcdef0123456789abcdef', executorId: '3', role: 'executor', file: '/logs/spark.log', fileId: 'f1', fileSeq: 1 };
  const batches: Batch[] = [];
  for (let b = 0; b < 5; b++) {
    batches.push({ v: 1, src, lines: Array.from({ length: 10 }, (_, i) => ({ off: (b * 10 + i) * 100, t: Date.now(), m: `24/11/21 06:20:00 INFO Executor: line ${b * 10 + i} é` })) });
  }
  await sink.send(batches.map((b) => ({ key: kafkaKey(b.src), value: encodeBatch(b) })));

  const got: InMessage[] = [];
  const done = new Promise<void>((resolve, reject) => {
    source
      .run(async (batch) => {
        got.push(...batch.messages);
        await source.commit(batch.topic, batch.partition, String(Number(batch.messages.at(-1)!.offset) + 1));
        if (got.length >= batches.length) resolve();
      })
      .catch(reject);
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${SLOW_MS} ms waiting for ${batches.length} messages: have ${got.length}`)), SLOW_MS)))]);
  clearTimeout(timer);

  assert.equal(got.length, batches.length);
  assert.deepEqual(got.map((m) => decodeBatch(m.value)), batches);
  assert.ok(got.every((m) => m.key?.toString() === 'spark/spark-0123456789abcdef0123456789abcdef/3'));
  // Everything consumed was committed: the group has no lag left.
  const lag = await source.lag();
  assert.equal(lag.reduce((s, p) => s + p.lag, 0), 0);

  await sink.close();
  await source.stop();
});
