// The aggregator's error catalogue: stable codes (also written into the
// dead-letter topic's `sparklogs-code` header), whether a retry can help, and
// the cause. Kafka and Elasticsearch client failures arrive wrapped by the
// source and sink (KafkaSourceError, StoreUnavailableError) and keep theirs.

export const AGGREGATOR_ERRORS = {
  /** Elasticsearch refused one item for good (4xx, e.g. a mapping conflict): dead-lettered. */
  ITEM_REJECTED: { retriable: false },
  /** `retention` was asked for without --max-age-days. */
  RETENTION_AGE_MISSING: { retriable: false },
  /** The configured time zone is not an IANA zone this Node knows. */
  TIME_ZONE_UNKNOWN: { retriable: false },
  /** A command that needs the store (retention) was run with sink=null, which stores nothing. */
  SINK_NULL: { retriable: false },
  /** SIGTERM's deadline passed before the batch in flight could be stored; it is replayed later. */
  SHUTDOWN_DEADLINE_MISSED: { retriable: true },
} as const;

export type AggregatorErrorCode = keyof typeof AGGREGATOR_ERRORS;

export class AggregatorError extends Error {
  readonly retriable: boolean;
  constructor(readonly code: AggregatorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AggregatorError';
    this.retriable = AGGREGATOR_ERRORS[code].retriable;
  }
}
