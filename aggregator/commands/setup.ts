// `sparklogs-aggregator setup`: what must exist before anything runs (the
// Kubernetes setup Job and the local demo run it): the lines and dead-letter
// topics and the index templates. Idempotent: running it again changes nothing.
// With the null sink (benchmarks) the topics are created and Elasticsearch is
// not contacted.
import type { Logger } from '../../contract/log.js';
import type { EsSink } from '../sinks/elasticsearch.js';
import type { KafkaSource } from '../sources/kafka.js';

export async function setup(source: KafkaSource, sink: EsSink, o: { partitions: number; topicRetentionHours: number; sink?: 'elasticsearch' | 'null' }, log: Logger): Promise<void> {
  // Existing topics are left as they are: changing partitions would move keys between partitions.
  await source.ensureTopics(o.partitions, o.topicRetentionHours * 3_600_000);
  log.info({ partitions: o.partitions, retentionHours: o.topicRetentionHours }, 'topicsReady');
  if (o.sink === 'null') {
    log.info({ sink: 'null' }, 'templatesSkipped');
    return;
  }
  await sink.installTemplates();
  log.info('templatesInstalled');
}
