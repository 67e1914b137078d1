// The aggregator's settings: flags and SPARKLOGS_* environment variables,
// validated against one schema (contract/config.ts) and frozen.
import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_PREFIX } from '../contract/names.js';

export const ENV_PREFIX = 'SPARKLOGS_';

export const ConfigSchema = Type.Object({
  kafkaBrokers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, default: ['127.0.0.1:9092'], description: 'Kafka bootstrap brokers.' }),
  esUrl: Type.String({ pattern: '^https?://', default: 'http://127.0.0.1:9200', description: 'Elasticsearch URL.' }),
  prefix: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,60}$', default: DEFAULT_PREFIX, description: 'Prefix of the topics and indices.' }),
  logLevel: Type.Union([Type.Literal('trace'), Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('fatal'), Type.Literal('silent')], { default: 'info', description: 'Level of the service\'s own log.' }),
  groupId: Type.String({ minLength: 1, maxLength: 249, default: 'sparklogs-aggregator', description: 'Kafka consumer group.' }),
  partitions: Type.Integer({ minimum: 1, maximum: 1000, default: 4, description: 'Partitions of the topics `setup` (and `run`, before it consumes) creates, or raises a topic to while nothing was ever written to it (scale limit of the group).' }),
  topicRetentionHours: Type.Integer({ minimum: 1, maximum: 100_000, default: 168, description: 'Retention of the topics `setup` creates: how long Kafka keeps lines the aggregator has not stored yet (an Elasticsearch outage longer than this loses lines).' }),
  metricsPort: Type.Integer({ minimum: 0, maximum: 65535, default: 9464, description: 'Port of GET /metrics, /healthz, /readyz (0: any free port).' }),
  metricsHost: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Address the metrics server listens on.' }),
  shutdownTimeoutMs: Type.Integer({ minimum: 1000, maximum: 600_000, default: 25_000, description: 'On SIGTERM, exit within this time even if the batch in flight cannot finish (it is then replayed).' }),
  sessionTimeoutMs: Type.Integer({ minimum: 6000, maximum: 300_000, default: 30_000, description: 'Kafka group session timeout.' }),
  maxBytesPerPartition: Type.Integer({ minimum: 65_536, maximum: 64 << 20, default: 4 << 20, description: 'Bytes fetched per partition per request: bounds memory.' }),
  partitionsConcurrency: Type.Integer({ minimum: 1, maximum: 16, default: 2, description: 'Partitions processed at once (one bulk in flight each).' }),
  bulkMaxDocs: Type.Integer({ minimum: 1, maximum: 50_000, default: 5000, description: 'Lines per bulk request; offsets are committed after each.' }),
  bulkMaxBytes: Type.Integer({ minimum: 65_536, maximum: 100 << 20, default: 8 << 20, description: 'Record bytes per bulk request.' }),
  esRequestTimeoutMs: Type.Integer({ minimum: 1000, maximum: 300_000, default: 30_000, description: 'Timeout of one Elasticsearch request.' }),
  retryInitialMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 200, description: 'First delay before retrying items Elasticsearch refused for now (429/5xx/read-only).' }),
  retryMaxMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000, description: 'Longest delay between retries (they never give up: nothing is dropped).' }),
  timeZone: Type.String({ minLength: 1, default: 'UTC', description: 'Zone of log times printed without one (IANA name).' }),
  maxAgeDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500, description: 'retention: delete daily line indices older than this many days.' })),
  dryRun: Type.Boolean({ default: false, description: 'retention: list what would be deleted, delete nothing.' }),
  sink: Type.Union([Type.Literal('elasticsearch'), Type.Literal('null')], { default: 'elasticsearch', description: 'Where lines go: `elasticsearch`, or `null` (benchmarks only: decode, parse and build documents, then discard them and commit; measures the aggregator\'s own ceiling).' }),
  watchPods: Type.Boolean({ default: false, description: 'Watch the pods of the collected apps through the Kubernetes API and store their lifecycle (exit code, reason, start and finish times) as executor facts. Needs the in-cluster service account (or KUBECONFIG) and RBAC to list and watch pods.' }),
  watchPodsByLabels: Type.Boolean({ default: false, description: 'Also record the end of pods that have no collector sidecar, identified from their labels by the node collector\'s rules (Spark and Flink labels, sparklogs.dev/ annotations): set it when node mode (the node-collector component) collects them.' }),
  watchLease: Type.String({ minLength: 1, maxLength: 317, pattern: '^(auto|none|[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?)$', default: 'auto', description: 'The Lease that lets one replica watch pods at a time: `namespace/name`; `auto`: sparklogs-pod-watcher in the service account\'s namespace when running in a cluster, none elsewhere; `none`: every replica watches.' }),
  watchNamespaces: Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { default: [], description: 'Namespaces whose pods are watched (empty: all namespaces, needs a ClusterRole).' }),
  pauseAfterBulkMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 0, description: 'Tests only: wait this long between a stored bulk and its offset commit (makes a crash in that window deterministic).' }),
});

export type Config = Static<typeof ConfigSchema>;
