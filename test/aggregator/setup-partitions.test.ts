// Issue 29: on a clean install the aggregator's pods ran their own setup
// before the setup Job, created the topics with another partition count, and
// the Job then logged its own setting as if the topic had it. Now an empty
// topic with fewer partitions than configured is raised, whoever made it; one
// that holds records keeps its partitions (adding would move keys between
// partitions) and setup says so, naming both counts. The log always reports
// what the topics have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { batches, produce, source, startAggregator, stopAggregator } from './harness.js';

const { brokers } = testStack();
const NOWHERE = 'http://127.0.0.1:1';

async function partitionCounts(topics: string[]): Promise<Record<string, number>> {
  const admin = new Kafka({ clientId: 'test-partitions', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics });
    return Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]));
  } finally {
    await admin.disconnect();
  }
}

/** `setup` with this partition count and the null sink (the topics are the point); its log lines. */
async function setup(n: ReturnType<typeof uniqueNames>, partitions: number) {
  const a = startAggregator(n, brokers, NOWHERE, { SPARKLOGS_PARTITIONS: String(partitions), SPARKLOGS_SINK: 'null' }, ['setup']);
  const r = await a.exited;
  assert.equal(r.code, 0, `setup exited ${r.code}: ${a.stderr.join('')} ${JSON.stringify(a.logs.slice(-5))}`);
  return a.logs;
}

const ready = (logs: Record<string, unknown>[]) => logs.find((l) => l.msg === 'topicsReady') as { partitions: Record<string, number>; configuredPartitions: number } | undefined;

test('an aggregator that made the topics first with fewer partitions: setup raises them while nothing was written', { timeout: 180_000 }, async () => {
  const n = uniqueNames('setup-raise');
  // The aggregator Deployment's own setup, run before the Job with another setting.
  const agg = startAggregator(n, brokers, NOWHERE, { SPARKLOGS_PARTITIONS: '2', SPARKLOGS_SINK: 'null' });
  await agg.waitFor('consuming', 60_000);
  assert.equal((await stopAggregator(agg)).code, 0);
  assert.deepEqual(await partitionCounts([n.linesTopic, n.deadLetterTopic]), { [n.linesTopic]: 2, [n.deadLetterTopic]: 2 });

  const logs = await setup(n, 3);
  assert.deepEqual(await partitionCounts([n.linesTopic, n.deadLetterTopic]), { [n.linesTopic]: 3, [n.deadLetterTopic]: 3 });
  const raised = logs.filter((l) => l.msg === 'topicPartitionsRaised').map((l) => [l.topic, l.from, l.to]);
  assert.deepEqual(raised.sort(), [[n.linesTopic, 2, 3], [n.deadLetterTopic, 2, 3]].sort());
  assert.deepEqual(ready(logs)?.partitions, { [n.linesTopic]: 3, [n.deadLetterTopic]: 3 });

  // Once they have what is configured, setup changes nothing and says nothing more.
  const again = await setup(n, 3);
  assert.ok(!again.some((l) => l.msg === 'topicPartitionsRaised' || l.msg === 'topicCreated' || l.event === 'topicPartitionsBelowConfigured'), JSON.stringify(again));
  assert.deepEqual(ready(again)?.partitions, { [n.linesTopic]: 3, [n.deadLetterTopic]: 3 });
});

test('a topic that holds records keeps its partitions, and setup names both counts instead of claiming the configured one', { timeout: 180_000 }, async () => {
  const n = uniqueNames('setup-keep');
  const first = await setup(n, 2);
  assert.deepEqual(first.filter((l) => l.msg === 'topicCreated').map((l) => [l.topic, l.partitions]).sort(), [[n.linesTopic, 2], [n.deadLetterTopic, 2]].sort());
  await produce(brokers, n.linesTopic, batches(source('spark-5e7u9', '1'), 10, 10));

  const logs = await setup(n, 3);
  // The lines topic holds an executor's records: left at 2. The dead-letter topic is still empty: raised.
  assert.deepEqual(await partitionCounts([n.linesTopic, n.deadLetterTopic]), { [n.linesTopic]: 2, [n.deadLetterTopic]: 3 });
  const warned = logs.filter((l) => l.event === 'topicPartitionsBelowConfigured');
  assert.equal(warned.length, 1, JSON.stringify(logs));
  assert.equal(warned[0]!.level, 40);
  assert.deepEqual([warned[0]!.topic, warned[0]!.partitions, warned[0]!.configuredPartitions], [n.linesTopic, 2, 3]);
  assert.match(String(warned[0]!.msg), /has 2 partitions, 3 configured/);
  assert.deepEqual(ready(logs)?.partitions, { [n.linesTopic]: 2, [n.deadLetterTopic]: 3 });
  assert.equal(ready(logs)?.configuredPartitions, 3);
});
