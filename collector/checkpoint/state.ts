import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

// What the collector remembers across restarts: per file, its identity
// (fileId, fileSeq), how to recognise it again (device + inode + fingerprint
// of its first bytes) and the offset up to which Kafka has acknowledged every
// event. A file found by stdoutPaths or stderrPaths also remembers its stream.

export const STATE_VERSION = 1;

export const FileEntrySchema = Type.Object({
  fileId: Type.String({ minLength: 1 }),
  fileSeq: Type.Integer({ minimum: 0 }),
  /** Path when discovered (the record's `file`). */
  file: Type.String(),
  /** Where it was seen last (after a rename). */
  path: Type.String(),
  dev: Type.String(),
  ino: Type.String(),
  /** Fingerprint: sha256 (hex, 32 chars) of the first fpLen bytes. */
  fpLen: Type.Integer({ minimum: 0 }),
  fpHash: Type.String(),
  /** Every event starting before this offset is acknowledged by Kafka. */
  off: Type.Integer({ minimum: 0 }),
  /** The number (record `n`) of the event at `off`: how many events came before it. Absent in older checkpoints: 0. */
  n: Type.Optional(Type.Integer({ minimum: 0 })),
  /**
   * A whole stream of the app container (found by stdoutPaths or stderrPaths): kept for the file's
   * life, so a restart cuts and labels it as before. Absent: the app's log (and in older checkpoints).
   */
  stream: Type.Optional(Type.Union([Type.Literal('stdout'), Type.Literal('stderr')])),
});

export const StateSchema = Type.Object({
  v: Type.Literal(STATE_VERSION),
  nextSeq: Type.Integer({ minimum: 0 }),
  files: Type.Array(FileEntrySchema),
});

export type FileEntry = Static<typeof FileEntrySchema>;
export type CollectorState = Static<typeof StateSchema>;

export const checkState = TypeCompiler.Compile(StateSchema);

export function emptyState(): CollectorState {
  return { v: STATE_VERSION, nextSeq: 0, files: [] };
}
