import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { CollectorConfig } from '../config.js';
import type { BaseIdentity } from '../identity.js';
import type { DecoderOptions } from '../transforms/file-decoder.js';
import { stdioStartTest, startTest, wholeTest } from '../transforms/multiline.js';

// The node-level spool: the last resort when a pod is being deleted and Kafka
// does not acknowledge before the grace period ends. Just before the deadline
// the collector copies, for every file, the bytes Kafka has not acknowledged
// (from the checkpoint offset to the end, read through the descriptor it
// holds, so a deleted file still counts) into a directory on the node
// (hostPath), with everything needed to cut the same events again: identity,
// file ids, base offsets, decoder settings. `sparklogs-spool` ships such
// entries later under the same line ids (podUid|fileId|off), so a line that
// reached Kafka before the deadline and again from the spool is stored once.
//
// A file that holds a whole stream of the app container (stdoutPaths,
// stderrPaths) says so in its manifest entry (`stream`): it ships with that
// src.stream and is cut as the collector cut it. The version stays 1: an entry
// without it (an older collector's) is all log files, as it always was.
//
// Layout: <dir>/<entry>/manifest.json + <fileSeq>.bytes. An entry is written
// under a dot-name and renamed when complete (and fsynced), so a reader only
// ever sees whole entries.

export const SPOOL_VERSION = 1;
const MANIFEST = 'manifest.json';

export const SpoolFileSchema = Type.Object({
  fileId: Type.String({ minLength: 1 }),
  fileSeq: Type.Integer({ minimum: 0 }),
  file: Type.String(),
  /** Offset in the original file of the first spooled byte. */
  base: Type.Integer({ minimum: 0 }),
  /** The number (record `n`) of the event at `base`. */
  n: Type.Optional(Type.Integer({ minimum: 0 })),
  /**
   * A whole stream of the app container (stdoutPaths, stderrPaths): shipped with src.stream and cut
   * as such (decoderOptions). Absent: the app's log (and in entries of collectors before it).
   */
  stream: Type.Optional(Type.Union([Type.Literal('stdout'), Type.Literal('stderr')])),
  bytes: Type.Integer({ minimum: 0 }),
  data: Type.String({ pattern: '^[0-9]+\\.bytes$' }),
});

export const SpoolManifestSchema = Type.Object({
  v: Type.Literal(SPOOL_VERSION),
  createdAt: Type.Integer(),
  identity: Type.Record(Type.String(), Type.String()),
  decoder: Type.Object({
    format: Type.Union([Type.Literal('auto'), Type.Literal('plain'), Type.Literal('cri')]),
    maxLineBytes: Type.Integer({ minimum: 1 }),
    multiline: Type.Boolean(),
    profile: Type.Union([Type.Literal('timestamped'), Type.Literal('continuation')]),
    firstLine: Type.Optional(Type.String()),
    pattern: Type.Optional(Type.String()),
    maxEventLines: Type.Integer({ minimum: 1 }),
    maxEventBytes: Type.Integer({ minimum: 1 }),
  }),
  files: Type.Array(SpoolFileSchema),
});

export type SpoolManifest = Static<typeof SpoolManifestSchema>;
export type SpoolDecoder = SpoolManifest['decoder'];

/** How a collector cuts events, as plain data: what a spool entry records so its bytes are cut the same way later. */
export function decoderSettings(c: Pick<CollectorConfig, 'format' | 'maxLineBytes' | 'multiline' | 'appType' | 'firstLine' | 'logPattern' | 'maxEventLines' | 'maxEventBytes'>): SpoolDecoder {
  return {
    format: c.format,
    maxLineBytes: c.maxLineBytes,
    multiline: c.multiline,
    profile: c.appType === 'generic' ? 'continuation' : 'timestamped',
    ...(c.firstLine !== undefined ? { firstLine: c.firstLine } : {}),
    ...(c.logPattern !== undefined ? { pattern: c.logPattern } : {}),
    maxEventLines: c.maxEventLines,
    maxEventBytes: c.maxEventBytes,
  };
}

/**
 * The decoder those settings describe (the collector's own, and sparklogs-spool's for an entry).
 * `stream`: for a file that holds a whole stream of the app container (stdoutPaths, stderrPaths):
 * plain lines, each its own event but a Java trace's (stdioStartTest), a JSON object line whole,
 * a \r split only before a header of the catalogue; format, firstLine and the app's pattern are
 * the log file's and do not apply.
 */
export function decoderOptions(d: SpoolDecoder, stream?: 'stdout' | 'stderr'): DecoderOptions {
  if (stream !== undefined) {
    return {
      format: 'plain',
      maxLineBytes: d.maxLineBytes,
      multiline: {
        isStart: d.multiline ? stdioStartTest() : undefined,
        ...(d.multiline ? { isWhole: wholeTest(), splitsAtCr: startTest('timestamped') } : {}),
        maxLines: d.maxEventLines,
        maxBytes: d.maxEventBytes,
      },
    };
  }
  return {
    format: d.format,
    maxLineBytes: d.maxLineBytes,
    multiline: {
      isStart: d.multiline ? startTest(d.profile, d.firstLine, d.pattern) : undefined,
      ...(d.multiline ? { isWhole: wholeTest(d.firstLine) } : {}),
      maxLines: d.maxEventLines,
      maxBytes: d.maxEventBytes,
    },
  };
}
// Compiled on first use: only sparklogs-spool reads manifests, the collector only writes them.
let checkManifest: ReturnType<typeof TypeCompiler.Compile<typeof SpoolManifestSchema>> | undefined;

export interface SpoolSource {
  fileId: string;
  fileSeq: number;
  file: string;
  /** Checkpoint: every event before it is acknowledged. */
  off: number;
  /** The number of the event at `off`. */
  n: number;
  /** A whole stream of the app container; undefined: the app's log. */
  stream?: 'stdout' | 'stderr';
  fh: FileHandle;
}

export interface SpoolResult {
  dir: string;
  files: number;
  bytes: number;
  /** Bytes left out because the entry would have passed maxBytes. */
  leftOut: number;
}

async function fsyncPath(path: string): Promise<void> {
  const h = await open(path, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Copies the unacknowledged end of every source into a new spool entry. */
export async function writeSpool(
  root: string,
  identity: BaseIdentity,
  decoder: SpoolDecoder,
  sources: SpoolSource[],
  maxBytes: number,
): Promise<SpoolResult> {
  await mkdir(root, { recursive: true });
  const name = `${identity.podUid ?? identity.pod ?? identity.executorId}-${Date.now()}-${randomBytes(4).toString('hex')}`.replace(/[^A-Za-z0-9._-]/g, '_');
  const tmp = join(root, `.${name}`);
  await mkdir(tmp);
  const files: SpoolManifest['files'] = [];
  let total = 0;
  let leftOut = 0;
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const s of sources) {
    const size = Number((await s.fh.stat({ bigint: true })).size);
    if (size <= s.off) continue;
    const want = size - s.off;
    const take = Math.min(want, Math.max(0, maxBytes - total));
    leftOut += want - take;
    if (take === 0) continue;
    const data = `${s.fileSeq}.bytes`;
    const out = await open(join(tmp, data), 'w');
    let copied = 0;
    try {
      while (copied < take) {
        const { bytesRead } = await s.fh.read(buf, 0, Math.min(buf.length, take - copied), s.off + copied);
        if (bytesRead === 0) break;
        await out.write(buf, 0, bytesRead);
        copied += bytesRead;
      }
      await out.sync();
    } finally {
      await out.close();
    }
    total += copied;
    files.push({ fileId: s.fileId, fileSeq: s.fileSeq, file: s.file, base: s.off, n: s.n, ...(s.stream !== undefined ? { stream: s.stream } : {}), bytes: copied, data });
  }
  const manifest: SpoolManifest = {
    v: SPOOL_VERSION,
    createdAt: Date.now(),
    identity: Object.fromEntries(Object.entries(identity).filter(([, v]) => typeof v === 'string')) as Record<string, string>,
    decoder,
    files,
  };
  const mh = await open(join(tmp, MANIFEST), 'w');
  try {
    await mh.writeFile(JSON.stringify(manifest));
    await mh.sync();
  } finally {
    await mh.close();
  }
  await fsyncPath(tmp);
  await rename(tmp, join(root, name));
  await fsyncPath(root);
  return { dir: join(root, name), files: files.length, bytes: total, leftOut };
}

export class SpoolError extends Error {
  constructor(
    readonly code: 'SPOOL_ENTRY_INVALID' | 'SPOOL_UNREADABLE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SpoolError';
  }
}

/** Complete entries, oldest first (names of entries being written start with a dot). */
export async function listSpool(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new SpoolError('SPOOL_UNREADABLE', `cannot list spool directory ${root}: ${(err as Error).message}`, { cause: err });
  }
  const entries = names.filter((n) => !n.startsWith('.') && !n.startsWith('_'));
  const stamp = (n: string) => Number(/-(\d{10,})-[0-9a-f]{8}$/.exec(n)?.[1] ?? 0);
  return entries.sort((a, b) => stamp(a) - stamp(b) || a.localeCompare(b)).map((n) => join(root, n));
}

export async function readManifest(dir: string): Promise<SpoolManifest> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8'));
  } catch (err) {
    throw new SpoolError('SPOOL_ENTRY_INVALID', `spool entry ${dir}: manifest unreadable: ${(err as Error).message}`, { cause: err });
  }
  checkManifest ??= TypeCompiler.Compile(SpoolManifestSchema);
  if (!checkManifest.Check(parsed)) {
    const e = checkManifest.Errors(parsed).First();
    throw new SpoolError('SPOOL_ENTRY_INVALID', `spool entry ${dir}: manifest invalid at ${e?.path || '/'}: ${e?.message ?? 'invalid'}`);
  }
  return parsed;
}

/** An entry that cannot be read is kept aside (renamed _bad-…) for a human, never deleted. */
export async function quarantine(dir: string, root: string): Promise<string> {
  const to = join(root, `_bad-${dir.split('/').pop()}`);
  await rename(dir, to);
  return to;
}

export async function removeEntry(dir: string): Promise<void> {
  // Rename first so a crash in the middle of rm never leaves a half entry that looks complete.
  const parts = dir.split('/');
  const last = parts.pop()!;
  const gone = join(parts.join('/'), `.done-${last}`);
  await rename(dir, gone);
  await rm(gone, { recursive: true, force: true });
}
