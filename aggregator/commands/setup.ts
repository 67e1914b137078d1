// `sparklogs-aggregator setup`: what must exist before anything runs (the
// Kubernetes setup Job and the local demo run it): the lines and dead-letter
// topics and the index templates. Idempotent: running it again changes nothing.
// With the null sink (benchmarks) the topics are created and Elasticsearch is
// not contacted. `run` does the same before it consumes, with the same
// settings (in Kubernetes both read ConfigMap sparklogs-topics), so whichever
// starts first makes the topics as configured.
import type { Logger } from '../../contract/log.js';
import type { EsSink } from '../sinks/elasticsearch.js';
import type { KafkaSource, TopicState } from '../sources/kafka.js';

export async function setup(source: KafkaSource, sink: EsSink, o: { partitions: number; topicRetentionHours: number; sink?: 'elasticsearch' | 'null' }, log: Logger): Promise<void> {
  const topics = await source.ensureTopics(o.partitions, o.topicRetentionHours * 3_600_000);
  for (const t of topics) {
    if (t.created) log.info({ topic: t.topic, partitions: t.partitions, retentionHours: o.topicRetentionHours }, 'topicCreated');
    if (t.partitions < o.partitions) t.partitions = await raiseOrWarn(source, t, o.partitions, log);
  }
  // What the topics have, not what was asked: an existing topic keeps its own partitions and retention.
  log.info({ partitions: Object.fromEntries(topics.map((t) => [t.topic, t.partitions])), configuredPartitions: o.partitions }, 'topicsReady');
  if (o.sink === 'null') {
    log.info({ sink: 'null' }, 'templatesSkipped');
    return;
  }
  await sink.installTemplates();
  log.info('templatesInstalled');
}

// A topic with fewer partitions than configured (made by an earlier install,
// or by a process that ran with another setting). Adding partitions changes
// which partition a key hashes to: an executor that already wrote would have
// its next records on another partition, consumed independently, so its lines
// could reach readers out of order. A topic nothing was ever written to has no
// such executor: it is raised (a clean install ends with the configured count,
// whoever created the topic). One with records is left alone and said loudly:
// raising it is the operator's decision, made between apps (deploy/README.md,
// Sizing). A record appended between the check and the raise is the one case
// this cannot see; on a clean install nothing writes yet. Replicas already
// consuming take the new partitions at their next metadata refresh (kafkajs:
// 5 min); records there wait for it from offset 0, none is skipped.
async function raiseOrWarn(source: KafkaSource, t: TopicState, configured: number, log: Logger): Promise<number> {
  if (!t.written) {
    const now = await source.addPartitions(t.topic, configured);
    log.info({ topic: t.topic, from: t.partitions, to: now }, 'topicPartitionsRaised');
    return now;
  }
  log.warn(
    { event: 'topicPartitionsBelowConfigured', topic: t.topic, partitions: t.partitions, configuredPartitions: configured },
    `topic ${t.topic} has ${t.partitions} partitions, ${configured} configured; it holds records, so they are not added here (adding moves keys between partitions): add them between apps with kafka-topics.sh --alter --partitions ${configured}, or set the configured count to ${t.partitions}`,
  );
  return t.partitions;
}
