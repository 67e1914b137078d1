import { open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkIdPart, type SourceIdentity } from '../../contract/identity.js';
import type { Logger } from '../../contract/log.js';
import { toMessages, type BatchSender } from '../sinks/batch-sender.js';
import { FileDecoder, newDecoderStats } from '../transforms/file-decoder.js';
import { decoderOptions, listSpool, quarantine, readManifest, removeEntry, SpoolError, type SpoolManifest } from './spool.js';

// Ships spool entries (see spool.ts) to Kafka: each file's bytes are cut into
// events by the same decoder the collector uses, starting at the same offset,
// so every event gets the offset (and therefore the line id) it would have
// had. An entry is removed only after Kafka acknowledged all of it; a crash
// in between re-sends it, which the store absorbs (same ids).

export interface DrainOptions {
  root: string;
  sender: BatchSender;
  batchMaxBytes: number;
  /** Bytes decoded and sent at once: bounds memory. */
  chunkBytes: number;
  log: Logger;
  signal: AbortSignal;
}

export interface DrainCounts {
  entries: number;
  events: number;
  bytes: number;
  quarantined: number;
}

function identityOf(m: SpoolManifest, dir: string): Omit<SourceIdentity, 'file' | 'fileId' | 'fileSeq'> {
  const id = m.identity;
  for (const k of ['appType', 'appId', 'executorId', 'role'] as const) {
    const problem = checkIdPart(k, id[k]);
    if (problem) throw new SpoolError('SPOOL_ENTRY_INVALID', `spool entry ${dir}: identity ${problem}`);
  }
  return id as unknown as Omit<SourceIdentity, 'file' | 'fileId' | 'fileSeq'>;
}

/** Sends one entry; true when every event was acknowledged (the entry may go), false when aborted. */
export async function drainEntry(dir: string, o: DrainOptions, counts: DrainCounts): Promise<boolean> {
  const m = await readManifest(dir);
  const base = identityOf(m, dir);
  const options = { log: decoderOptions(m.decoder), stdout: decoderOptions(m.decoder, 'stdout'), stderr: decoderOptions(m.decoder, 'stderr') };
  const stats = newDecoderStats();
  const buf = Buffer.allocUnsafe(o.chunkBytes);
  for (const f of m.files) {
    const path = join(dir, f.data);
    const size = (await stat(path).catch(() => undefined))?.size;
    if (size !== f.bytes) throw new SpoolError('SPOOL_ENTRY_INVALID', `spool entry ${dir}: ${f.data} holds ${size ?? 'no'} bytes, the manifest says ${f.bytes}`);
    const src: SourceIdentity = { ...base, file: f.file, fileId: f.fileId, fileSeq: f.fileSeq };
    if (f.stream !== undefined) {
      // A stream of the app container, as the collector sent it: labelled, and not the app's log layout.
      src.stream = f.stream;
      delete src.pattern;
    }
    const decoder = new FileDecoder(options[f.stream ?? 'log'], f.base, stats, f.n ?? 0);
    const fh = await open(path, 'r');
    try {
      let pos = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        pos += bytesRead;
        const now = Date.now();
        if (bytesRead > 0) decoder.push(buf.subarray(0, bytesRead), now);
        // The pod is gone: whatever is open at the end of the bytes is complete.
        if (bytesRead === 0 || pos >= f.bytes) decoder.flush(now);
        const events = decoder.take();
        if (events.length) {
          if (!(await o.sender.send(toMessages(src, events, o.batchMaxBytes, decoder.takenFrom), o.signal))) return false;
          counts.events += events.length;
        }
        if (bytesRead === 0 || pos >= f.bytes) break;
      }
      counts.bytes += pos;
    } finally {
      await fh.close();
    }
  }
  return true;
}

/** One pass over the spool directory: every complete entry is shipped and removed. */
export async function drainSpool(o: DrainOptions): Promise<DrainCounts> {
  const counts: DrainCounts = { entries: 0, events: 0, bytes: 0, quarantined: 0 };
  // Leftovers of a removal cut short.
  for (const n of await readdir(o.root).catch(() => [] as string[])) {
    if (n.startsWith('.done-')) await rm(join(o.root, n), { recursive: true, force: true });
  }
  for (const dir of await listSpool(o.root)) {
    if (o.signal.aborted) break;
    const started = Date.now();
    const before = { ...counts };
    try {
      if (!(await drainEntry(dir, o, counts))) break;
    } catch (err) {
      if (!(err instanceof SpoolError)) throw err;
      const to = await quarantine(dir, o.root);
      counts.quarantined++;
      o.log.error({ event: 'spoolEntryInvalid', code: err.code, entry: dir, keptAt: to, err: err.message }, 'a spool entry cannot be read: kept aside, not shipped');
      continue;
    }
    await removeEntry(dir);
    counts.entries++;
    o.log.info({ event: 'spoolEntryShipped', entry: dir, events: counts.events - before.events, bytes: counts.bytes - before.bytes, ms: Date.now() - started }, 'spooled lines acknowledged by Kafka');
  }
  return counts;
}
