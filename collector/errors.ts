// The collector's error catalogue: stable codes, whether waiting and retrying
// can help, and the cause. Kafka produce failures are KafkaSendError in
// sinks/kafka.ts (code KAFKA_SEND_FAILED, retriable).

export type CollectorErrorCode =
  | 'IDENTITY_INVALID' // a missing or malformed app id / executor id: start-up stops
  | 'PATTERN_INVALID' // a firstLine regular expression or path that cannot be used
  | 'CHECKPOINT_WRITE_FAILED' // fatal: an offset that cannot be persisted must never be advanced past
  | 'CHECKPOINT_UNREADABLE' // neither generation of the state file is valid
  | 'FILE_READ_FAILED' // a tailed file could not be read (retried on the next poll)
  | 'SHUTDOWN_DEADLINE'; // lines were still unsent when the shutdown deadline passed

const RETRIABLE: Record<CollectorErrorCode, boolean> = {
  IDENTITY_INVALID: false,
  PATTERN_INVALID: false,
  CHECKPOINT_WRITE_FAILED: false,
  CHECKPOINT_UNREADABLE: false,
  FILE_READ_FAILED: true,
  SHUTDOWN_DEADLINE: false,
};

export class CollectorError extends Error {
  readonly retriable: boolean;
  constructor(
    readonly code: CollectorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CollectorError';
    this.retriable = RETRIABLE[code];
  }
}
