import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_PREFIX } from '../contract/names.js';

// The query API's settings: flags and SPARKLOGS_* variables -> this schema ->
// a frozen object (contract/config.ts). Request bounds live here so that an
// operator can tighten them without a rebuild.

export const ENV_PREFIX = 'SPARKLOGS_';

export const ConfigSchema = Type.Object({
  esUrl: Type.String({ default: 'http://127.0.0.1:9200', minLength: 1, description: 'Elasticsearch URL.' }),
  prefix: Type.String({ default: DEFAULT_PREFIX, pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', description: 'Name prefix of the indices.' }),
  logLevel: Type.Union(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((l) => Type.Literal(l)), { default: 'info', description: 'Level of the service log.' }),
  host: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Address to listen on.' }),
  port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'Port to listen on (0: any free port).' }),
  apiTokens: Type.Array(Type.String({ minLength: 16 }), { default: [], secret: true, description: 'Bearer tokens accepted by every route except health (empty: no auth). At least 16 characters each.' }),
  esTimeoutMs: Type.Integer({ default: 10_000, minimum: 100, maximum: 120_000, description: 'Timeout of one Elasticsearch request.' }),
  maxPageSize: Type.Integer({ default: 10_000, minimum: 10, maximum: 10_000, description: 'Largest page (size, tail) a request may ask for.' }),
  downloadPageSize: Type.Integer({ default: 2_000, minimum: 10, maximum: 10_000, description: 'Lines fetched per step of a download: bounds its memory.' }),
  followPollMs: Type.Integer({ default: 250, minimum: 50, maximum: 60_000, description: 'How often a follow stream looks for new lines while they come (a line arrived within followActiveMs).' }),
  followIdlePollMs: Type.Integer({ default: 1_000, minimum: 50, maximum: 60_000, description: 'How often a follow stream looks for new lines once none came for followActiveMs (never more often than followPollMs): bounds the searches of idle followers.' }),
  followActiveMs: Type.Integer({ default: 5_000, minimum: 0, maximum: 600_000, description: 'A follow stream polls every followPollMs for this long after its last new line, then every followIdlePollMs.' }),
  followHeartbeatMs: Type.Integer({ default: 15_000, minimum: 100, maximum: 300_000, description: 'Interval of SSE heartbeats (keeps proxies from closing an idle stream).' }),
  followGapMs: Type.Integer({ default: 60_000, minimum: 100, maximum: 3_600_000, description: 'How long a follow stream waits for a line missing between two stored lines of a file (not searchable yet: a retried write, an index refreshing later) before it reports the missing lines in a warning and goes on without them.' }),
  followQuietMs: Type.Integer({ default: 30_000, minimum: 100, description: 'A follow stream ends after this long without a new line once every executor of the app has finished.' }),
  followIdleEndMs: Type.Integer({ default: 3_600_000, minimum: 100, description: 'A follow stream ends after this long without a new line even when no finish is known (pods gone without lifecycle facts).' }),
  maxStreams: Type.Integer({ default: 200, minimum: 1, maximum: 10_000, description: 'Concurrent follow streams and downloads.' }),
});

export type Config = Static<typeof ConfigSchema>;
