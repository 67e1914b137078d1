// The private stack that fault tests rely on: a server stopped and started
// again by name comes back on the same port with its data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPrivateStack } from '../helpers/private-stack.js';
import { markedRetriable, retrying } from '../helpers/wait.js';

test('a private Kafka stops and starts again by name; Elasticsearch stays absent when not asked for', async () => {
  const s = await startPrivateStack({ elasticsearch: false });
  try {
    const { createKafkaSource } = await import('../../aggregator/sources/kafka.js');
    const { testLog } = await import('../helpers/log.js');
    const admin = createKafkaSource({ brokers: s.brokers, clientId: 't', groupId: 'g', topic: 'a', deadLetterTopic: 'a.dlq', sessionTimeoutMs: 10_000, maxBytesPerPartition: 1 << 20, log: testLog });
    // Retriable (KAFKA_ADMIN_FAILED): a broker just started on a busy machine may take longer than 5 s to elect the leader.
    await retrying(() => admin.ensureTopics(1), { what: 'creating topic a', retriable: markedRetriable });
    await admin.stop();
    await s.stop('kafka');
    await assert.rejects(fetch(s.esUrl), 'no Elasticsearch was started');
    await s.start('kafka');
    const again = createKafkaSource({ brokers: s.brokers, clientId: 't', groupId: 'g', topic: 'a', deadLetterTopic: 'a.dlq', sessionTimeoutMs: 10_000, maxBytesPerPartition: 1 << 20, log: testLog });
    // The broker just restarted: its group coordinator may still be loading past lag()'s own 30 s of retries.
    const lag = await retrying(() => again.lag(), { what: 'the lag of topic a', retriable: markedRetriable });
    assert.equal(lag.length, 1, 'the topic created before the restart is still there');
    await again.stop();
  } finally {
    await s.destroy();
  }
});
