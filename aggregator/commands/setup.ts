// `sparklogs-aggregator setup`: what must exist before anything runs (the
// Kubernetes setup Job and the local demo run it): the lines and dead-letter
// topics and the index templates. Idempotent: running it again changes nothing.
import type { Logger } from '../../contract/log.js';
import type { EsSink } from '../sinks/elasticsearch.js';
import type { KafkaSource } from '../sources/kafka.js';

export async function setup(source: KafkaSource, sink: EsSink, partitions: number, log: Logger): Promise<void> {
  await source.ensureTopics(partitions);
  log.info({ partitions }, 'topicsReady');
  await sink.installTemplates();
  log.info('templatesInstalled');
}
