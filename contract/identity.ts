// Who a log line belongs to. Set once per source by the collector, from the
// pod's environment; the aggregator and the query API read it, never rebuild it.

export const APP_TYPES = ['spark', 'flink', 'flume', 'generic'] as const;
export type AppType = (typeof APP_TYPES)[number];

export interface SourceIdentity {
  appType: string;
  appId: string;
  executorId: string;
  role: string;
  appName?: string;
  namespace?: string;
  pod?: string;
  podUid?: string;
  node?: string;
  container?: string;
  /** stdout/stderr for a whole-stream source; CRI files carry it per line. */
  stream?: 'stdout' | 'stderr';
  /** Path the collector read, as it was when the file was discovered. */
  file: string;
  /** Stable identity of the file's content (see collector checkpoints). */
  fileId: string;
  /** Discovery order of the file within its collector: orders rotated files. */
  fileSeq: number;
  /** The app's conversion pattern, when it logs in a layout of its own (contract/pattern-layout.ts). */
  pattern?: string;
}

/**
 * Key parts travel in the Kafka key and in Elasticsearch ids and URLs, so
 * they are restricted to characters that need no escaping anywhere. Spark app
 * ids (`spark-<hex>`, `app-2024…`), executor ids (`driver`, `17`), Flink
 * cluster and task manager ids and Flume agent names all fit.
 */
export const ID_PART = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$/;

export function checkIdPart(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return `${name}: required, got nothing`;
  if (!ID_PART.test(value)) {
    return `${name}: expected letters, digits, '.', '_', ':' or '-' (at most 253, starting with a letter or digit), got ${JSON.stringify(value.slice(0, 80))}`;
  }
  return undefined;
}

/** Kafka key: every line of one executor goes to one partition, in order. */
export function kafkaKey(src: Pick<SourceIdentity, 'appType' | 'appId' | 'executorId'>): string {
  return `${src.appType}/${src.appId}/${src.executorId}`;
}

export function appKey(src: Pick<SourceIdentity, 'appType' | 'appId'>): string {
  return `${src.appType}/${src.appId}`;
}
