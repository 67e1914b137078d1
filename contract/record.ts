import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ID_PART } from './identity.js';
import { MAX_PATTERN_LENGTH } from './pattern-layout.js';

// The Kafka message value: a batch of consecutive log events from one source
// (one file of one pod). The key is the same for the whole batch, so the
// per-message overhead is paid once per batch, not once per line.

export const RECORD_VERSION = 1;

const IdPart = Type.String({ pattern: ID_PART.source });
const Opt = (max = 253) => Type.Optional(Type.String({ maxLength: max }));

export const SourceSchema = Type.Object({
  appType: IdPart,
  appId: IdPart,
  executorId: IdPart,
  role: Type.String({ maxLength: 64 }),
  appName: Opt(),
  namespace: Opt(),
  pod: Opt(),
  podUid: Opt(),
  node: Opt(),
  container: Opt(),
  stream: Type.Optional(Type.Union([Type.Literal('stdout'), Type.Literal('stderr')])),
  file: Type.String({ maxLength: 4096 }),
  fileId: Type.String({ minLength: 1, maxLength: 128 }),
  fileSeq: Type.Integer({ minimum: 0 }),
  /** The app's log4j/logback conversion pattern (contract/pattern-layout.ts): the collector cut with it, the aggregator parses with it. */
  pattern: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_PATTERN_LENGTH })),
});

export const EventSchema = Type.Object({
  /** Byte offset of the event's first byte in its file. */
  off: Type.Integer({ minimum: 0 }),
  /** Collection time (or the kubelet's CRI time), ms since the epoch. */
  t: Type.Number(),
  /** The event's text: one line, or several joined with \n (stack traces). */
  m: Type.String(),
  /** Per-line stream, for CRI files that interleave stdout and stderr. */
  s: Type.Optional(Type.Union([Type.Literal('stdout'), Type.Literal('stderr')])),
  /** Set when the event was cut at the collector's size limit. */
  tr: Type.Optional(Type.Literal(1)),
});

export const BatchSchema = Type.Object({
  v: Type.Literal(RECORD_VERSION),
  src: SourceSchema,
  /**
   * The number of the first event in its file (0 for the file's first event),
   * the next ones counting up by one: a batch holds consecutive events. The
   * same when re-sent. Consecutive numbers prove that no event of the file is
   * missing in between (the live follow waits at a gap). Absent from records
   * of collectors that predate it.
   */
  n: Type.Optional(Type.Integer({ minimum: 0 })),
  lines: Type.Array(EventSchema, { minItems: 1 }),
});

export type LogEvent = Static<typeof EventSchema>;
export type Batch = Static<typeof BatchSchema>;

// Compiled on first use: the collector imports this module to encode and never decodes.
let checkBatch: ReturnType<typeof TypeCompiler.Compile<typeof BatchSchema>> | undefined;

export function encodeBatch(batch: Batch): Buffer {
  return Buffer.from(JSON.stringify(batch), 'utf8');
}

export class RecordDecodeError extends Error {
  readonly code: 'RECORD_NOT_JSON' | 'RECORD_BAD_VERSION' | 'RECORD_INVALID';
  constructor(code: RecordDecodeError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RecordDecodeError';
    this.code = code;
  }
}

/** Parses and validates one Kafka message value; throws RecordDecodeError with the reason. */
export function decodeBatch(value: Buffer | null | undefined): Batch {
  if (!value || value.length === 0) throw new RecordDecodeError('RECORD_INVALID', 'empty message value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new RecordDecodeError('RECORD_NOT_JSON', `value is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const v = (parsed as { v?: unknown } | null)?.v;
  if (v !== RECORD_VERSION) {
    throw new RecordDecodeError('RECORD_BAD_VERSION', `unknown record version ${JSON.stringify(v)} (this build reads v${RECORD_VERSION})`);
  }
  checkBatch ??= TypeCompiler.Compile(BatchSchema);
  if (!checkBatch.Check(parsed)) {
    const first = checkBatch.Errors(parsed).First();
    throw new RecordDecodeError('RECORD_INVALID', `invalid record at ${first?.path || '/'}: ${first?.message ?? 'schema mismatch'}`);
  }
  return parsed;
}
