// The private stack that fault tests rely on: a server stopped and started
// again by name comes back on the same port with its data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPrivateStack } from '../helpers/private-stack.js';

test('a private Kafka stops and starts again by name; Elasticsearch stays absent when not asked for', async () => {
  const s = await startPrivateStack({ elasticsearch: false });
  try {
    const { createKafkaSource } = await import('../../aggregator/sources/kafka.js');
    const { testLog } = await import('../helpers/log.js');
    const admin = createKafkaSource({ brokers: s.brokers, clientId: 't', groupId: 'g', topic: 'a', deadLetterTopic: 'a.dlq', sessionTimeoutMs: 10_000, maxBytesPerPartition: 1 << 20, log: testLog });
    await admin.ensureTopics(1);
    await admin.stop();
    await s.stop('kafka');
    await assert.rejects(fetch(s.esUrl), 'no Elasticsearch was started');
    await s.start('kafka');
    const again = createKafkaSource({ brokers: s.brokers, clientId: 't', groupId: 'g', topic: 'a', deadLetterTopic: 'a.dlq', sessionTimeoutMs: 10_000, maxBytesPerPartition: 1 << 20, log: testLog });
    const lag = await again.lag();
    assert.equal(lag.length, 1, 'the topic created before the restart is still there');
    await again.stop();
  } finally {
    await s.destroy();
  }
});
