import { randomBytes } from 'node:crypto';
import { open, readlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { SourceIdentity } from '../../contract/identity.js';
import type { Logger } from '../../contract/log.js';
import type { LogEvent } from '../../contract/record.js';
import { STATE_VERSION, type CollectorState, type FileEntry } from '../checkpoint/state.js';
import type { BaseIdentity } from '../identity.js';
import type { SpoolSource } from '../spool/spool.js';
import { FileDecoder, type DecoderOptions, type DecoderStats } from '../transforms/file-decoder.js';
import type { WatchSpec } from './file-events.js';
import { FINGERPRINT_BYTES, fileKey, findInDir, fingerprint, hashHead, scan, watched, type Found, type Overlap, type PathPattern } from './scan.js';

// The tail state machine. Every tailed file is held open, so a file renamed
// or deleted while tailed is still read to its end through its descriptor
// before it is let go, and its inode cannot be reused meanwhile. A file that
// shrinks below the read offset, or whose first bytes change, was truncated
// (copytruncate): it gets a new identity and is read from 0, so new text
// never takes the ids of old lines. Offsets advance in the checkpoint only
// through Round.commit(), which the caller runs after Kafka acknowledged.

/**
 * Low-rate batching: fewer than this many new bytes in a file are left for a
 * later poll until `lingerMs` (2 × scanIntervalMs, below flushTimeoutMs)
 * passed since the file's last read. A file written at 1,000 lines/s is then
 * read about twice a second instead of after every send; a fast writer
 * (more than this per read) is never held back, and a drain never waits.
 */
const LINGER_BYTES = 128 * 1024;

export interface TailerOptions {
  /** The app's log files (paths) and, with a stream, the files of its stdout and stderr (stdoutPaths, stderrPaths). */
  patterns: PathPattern[];
  decoder: DecoderOptions;
  /** How a file of a stream is cut (default: `decoder`): each line an event but a Java trace's. */
  streamDecoder?: DecoderOptions;
  identity: BaseIdentity;
  readChunkBytes: number;
  /** Most bytes read per round: a round is held in memory until acknowledged. */
  maxRoundBytes: number;
  flushTimeoutMs: number;
  scanIntervalMs: number;
  log: Logger;
  stats: DecoderStats;
  now?: () => number;
}

export interface SourceBatch {
  src: SourceIdentity;
  events: LogEvent[];
  /** The number of the first event in its file (the rest count up from it). */
  n: number;
}

export interface Round {
  batches: SourceBatch[];
  /** A file got a new identity: persist the state before sending any of its lines. */
  newIdentities: boolean;
  bytesRead: number;
  /** Drain mode: every file was read to its end and nothing is left open. */
  drained: boolean;
  /** Apply once Kafka acknowledged every batch; returns how many files were let go. */
  commit(): number;
}

interface Tracked {
  entry: FileEntry;
  src: SourceIdentity;
  fh: FileHandle;
  decoder: FileDecoder;
  size: number;
  lastDataAt: number;
  gone: boolean;
  log: Logger;
  /**
   * The identity's first bytes (up to FINGERPRINT_BYTES) as this process read
   * them, when it read from 0; the fingerprint is extended from these, never
   * from a second read of the file, which could see a later content (a
   * truncation and rewrite of the same length in between would go unseen).
   */
  head: Buffer | undefined;
}

export class Tailer {
  private readonly files = new Map<string, Tracked>();
  private nextSeq: number;
  private lastScan = -Infinity;
  private newIdentities = false;
  private rr = 0;
  private readonly buf: Buffer;
  private readonly now: () => number;
  private readonly lingerMs: number;
  /** The tracked files in a stable array (rebuilt when the set changes), so a poll does not copy the map. */
  private order: Tracked[] | undefined;
  /** Whether two tracked files share a name (a rotation's predecessor and successor): set with `order`. */
  private rotating = false;
  /** Names the last scan listed that lead to no file (dangling symlinks): only the poll would see them resolve. */
  private dangling: string[] = [];
  /**
   * Bumped by every change of what state() returns: the caller persists the
   * state when this moved since its last write (no serialising to compare).
   */
  generation = 0;
  counts = { truncations: 0, released: 0, lostOnRestart: 0 };

  private constructor(
    private readonly o: TailerOptions,
    nextSeq: number,
  ) {
    this.nextSeq = nextSeq;
    this.buf = Buffer.allocUnsafe(o.readChunkBytes);
    this.now = o.now ?? Date.now;
    this.lingerMs = Math.min(2 * o.scanIntervalMs, o.flushTimeoutMs / 2);
  }

  /** Re-attaches the checkpointed files (by device + inode + fingerprint) and discovers the rest. */
  static async start(o: TailerOptions, state: CollectorState): Promise<Tailer> {
    const t = new Tailer(o, state.nextSeq);
    const overlaps: Overlap[] = [];
    const found = await scan(o.patterns, undefined, overlaps);
    t.sayOverlaps(overlaps);
    for (const e of state.files) {
      let f = found.get(fileKey(e.dev, e.ino));
      const renamed = !f;
      f ??= await findInDir(dirname(e.path), e.dev, e.ino);
      const tracked = f && (await t.reattach(e, f));
      if (tracked) {
        found.delete(fileKey(e.dev, e.ino));
        tracked.gone = renamed;
      } else {
        t.counts.lostOnRestart++;
        o.log.warn({ event: 'checkpointFileGone', file: e.path, fileId: e.fileId, off: e.off }, 'a checkpointed file is gone or was replaced: its unread end (if any) cannot be read');
      }
    }
    await t.discover([...found.values()]);
    t.lastScan = t.now();
    return t;
  }

  /**
   * Node mode: files are opened (and so kept readable) as soon as a pod's log
   * directory appears, before the pod's identity is known; it is set here,
   * before the first poll. Nothing was decoded yet, so every file gets a
   * decoder of the pod's profile from its checkpointed offset.
   */
  identify(identity: BaseIdentity, decoder: DecoderOptions): void {
    this.o.identity = identity;
    this.o.decoder = decoder;
    for (const t of this.files.values()) {
      t.src = this.source(t.entry);
      t.decoder = this.newDecoder(t.entry, t.entry.off, t.entry.n ?? 0);
    }
  }

  /** How many files are tracked (node mode lets a pod's tailer go when none is left). */
  get size(): number {
    return this.files.size;
  }

  /** The state to persist: identities of every tracked file and their acknowledged offsets. */
  state(): CollectorState {
    return { v: STATE_VERSION, nextSeq: this.nextSeq, files: [...this.files.values()].map((t) => ({ ...t.entry })) };
  }

  /** Per file: bytes not yet acknowledged by Kafka (read or not). */
  unread(): { file: string; bytes: number }[] {
    return [...this.files.values()].map((t) => ({ file: t.entry.path, bytes: Math.max(0, t.size - t.entry.off) }));
  }

  /** Per file: bytes not yet acknowledged, from a fresh stat (unread() may be as old as the last poll). */
  async unreadNow(): Promise<{ file: string; bytes: number }[]> {
    const out: { file: string; bytes: number }[] = [];
    for (const t of this.files.values()) {
      const size = await t.fh.stat({ bigint: true }).then((s) => Number(s.size), () => t.size);
      out.push({ file: t.entry.path, bytes: Math.max(0, size - t.entry.off) });
    }
    return out;
  }

  /**
   * Finds files created since the last scan (a rotation while a send was
   * stuck in a Kafka outage stops polling, and with it scanning): the spool
   * must hold them too.
   */
  async refresh(): Promise<void> {
    await this.rescan();
    this.lastScan = this.now();
  }

  /** What the spool needs: every tracked file with its acknowledged offset and open descriptor. */
  spoolSources(): SpoolSource[] {
    return [...this.files.values()].map((t) => ({
      fileId: t.entry.fileId,
      fileSeq: t.entry.fileSeq,
      file: t.entry.file,
      off: t.entry.off,
      n: t.entry.n ?? 0,
      ...(t.entry.stream !== undefined ? { stream: t.entry.stream } : {}),
      fh: t.fh,
    }));
  }

  async poll(drain: boolean): Promise<Round> {
    const now = this.now();
    if (drain || now - this.lastScan >= this.o.scanIntervalMs) {
      await this.rescan();
      this.lastScan = now;
    }
    const batches: SourceBatch[] = [];
    const safe: [Tracked, FileEntry, number, number][] = [];
    const release: Tracked[] = [];
    let budget = this.o.maxRoundBytes;
    let bytesRead = 0;
    let drained = true;
    if (!this.order) {
      this.order = [...this.files.values()];
      this.rotating = new Set(this.order.map((t) => t.entry.file)).size < this.order.length;
    }
    const order = this.order;
    this.rr = (this.rr + 1) % Math.max(1, order.length);
    // Rotation: a file found at a name another tracked file had (spark.log after spark.log ->
    // spark.log.1) is its successor. It is read only once every predecessor is read to its end
    // and its last event closed, so an executor's events reach Kafka in file order across a
    // rotation too (its successor's events first would let a reader pass the old file's last
    // ones). Files of one name are visited oldest first; names take turns as before. Without
    // two files of one name (no rotation since they were found) the poll allocates nothing for it.
    const visit = this.rotating ? this.byName(order) : undefined;
    let unfinished: Set<string> | undefined;
    for (let k = 0; k < order.length; k++) {
      const t = visit ? visit.files[k]! : order[(k + this.rr) % order.length]!;
      const entryBefore = t.entry;
      const name = t.entry.file;
      if (unfinished?.has(name)) {
        // A predecessor is not read to its end yet: nothing of this file before it.
        safe.push([t, t.entry, t.decoder.safeOffset(), t.decoder.safeNumber()]);
        drained = false;
        continue;
      }
      const superseded = visit?.superseded.has(t) === true;
      try {
        // Plain numbers: the size is all a poll needs (BigInt stats allocate a BigInt per field).
        t.size = (await t.fh.stat()).size;
        if (t.size < t.decoder.pos) this.truncated(t, batches, now, `size ${t.size} below read offset ${t.decoder.pos}`);
        else if (this.pendingTruncation.has(t)) this.truncated(t, batches, now, 'first bytes changed');
        // A small new tail read soon after the last read waits for the next poll: fewer, larger
        // batches at low rates (each send costs JSON, gzip and a produce round trip).
        const linger = !drain && t.size - t.decoder.pos < LINGER_BYTES && now - t.lastDataAt < this.lingerMs;
        while (!linger && budget > 0 && t.decoder.pos < t.size) {
          const n = Math.min(this.buf.length, budget, t.size - t.decoder.pos);
          const at = t.decoder.pos;
          const { bytesRead: got } = await t.fh.read(this.buf, 0, n, at);
          if (got === 0) break;
          if (t.head && at === t.head.length && at < FINGERPRINT_BYTES) this.extendHead(t, this.buf.subarray(0, got));
          t.decoder.push(this.buf.subarray(0, got), now);
          t.lastDataAt = now;
          budget -= got;
          bytesRead += got;
        }
      } catch (err) {
        t.log.error({ event: 'fileReadError', err }, 'reading failed; retrying on the next poll');
        drained = false;
        if (visit) (unfinished ??= new Set()).add(name);
        continue;
      }
      const atEnd = t.decoder.pos >= t.size;
      const idle = drain || now - t.lastDataAt >= this.o.flushTimeoutMs;
      // A superseded file gets no more lines: its last event is complete at its end.
      if (atEnd && (idle || superseded) && t.decoder.hasOpen()) t.decoder.flush(now);
      const events = t.decoder.take();
      if (events.length) batches.push({ src: t.src, events, n: t.decoder.takenFrom });
      safe.push([t, t.entry, t.decoder.safeOffset(), t.decoder.safeNumber()]);
      if (!atEnd || t.decoder.hasOpen()) {
        drained = false;
        if (visit) (unfinished ??= new Set()).add(name);
      } else if (t.gone && idle && t.entry === entryBefore) release.push(t);
    }
    // A source's files in the order they were found (rotated before current), whatever file the
    // round-robin began with: a reader of the topic meets an executor's files in their order.
    batches.sort((a, b) => a.src.fileSeq - b.src.fileSeq);
    const newIdentities = this.newIdentities;
    this.newIdentities = false;
    return {
      batches,
      newIdentities,
      bytesRead,
      drained,
      commit: () => {
        for (const [t, entry, off, n] of safe) {
          if (t.entry === entry && entry.off !== off) {
            entry.off = off;
            entry.n = n;
            this.generation++;
          }
        }
        for (const t of release) this.release(t);
        return release.length;
      },
    };
  }

  /** This poll's visiting order: round-robin over names, each name's files oldest first; and the files a newer one of their name supersedes. */
  private byName(order: Tracked[]): { files: Tracked[]; superseded: Set<Tracked> } {
    const groups = new Map<string, Tracked[]>();
    for (let k = 0; k < order.length; k++) {
      const t = order[(k + this.rr) % order.length]!;
      const same = groups.get(t.entry.file);
      if (same) same.push(t);
      else groups.set(t.entry.file, [t]);
    }
    const superseded = new Set<Tracked>();
    for (const same of groups.values()) {
      if (same.length < 2) continue;
      same.sort((a, b) => a.entry.fileSeq - b.entry.fileSeq);
      for (const t of same.slice(0, -1)) superseded.add(t);
    }
    return { files: [...groups.values()].flat(), superseded };
  }

  async close(): Promise<void> {
    for (const t of this.files.values()) await t.fh.close().catch(() => undefined);
    this.files.clear();
    this.order = undefined;
  }

  /**
   * When every file is idle and the kernel's events on the returned
   * directories would report any change the poll looks for: per directory, the
   * names that matter (the patterns' and each file's real name, through
   * symlinks). undefined while anything is in progress (data not read yet, an
   * open event to flush, a file renamed or deleted and not let go, a pending
   * truncation, a dangling symlink) or a file's real place is unknown: then
   * the fast poll goes on.
   */
  async idleSpec(): Promise<WatchSpec | undefined> {
    const now = this.now();
    if (this.pendingTruncation.size > 0 || this.dangling.length > 0) return undefined;
    for (const t of this.files.values()) {
      if (t.gone || t.size > t.decoder.pos || t.decoder.hasOpen() || now - t.lastDataAt < this.lingerMs) return undefined;
    }
    const names = new Map<string, { res: RegExp[]; names: Set<string> }>();
    const at = (dir: string) => {
      let x = names.get(dir);
      if (!x) names.set(dir, (x = { res: [], names: new Set() }));
      return x;
    };
    for (const p of this.o.patterns) {
      if (p.name) at(p.dir).res.push(p.name);
      else at(p.dir).names.add(basename(p.literal));
    }
    for (const t of this.files.values()) {
      // Where the open file is now (the kernel's own answer: no race with a symlink
      // being changed); its directory's events are the ones a write to it makes.
      const real = await readlink(`/proc/self/fd/${t.fh.fd}`).catch(() => undefined);
      if (!real || !real.startsWith('/') || real.endsWith(' (deleted)')) return undefined;
      at(dirname(real)).names.add(basename(real));
    }
    const spec: WatchSpec = new Map();
    for (const [dir, x] of names) {
      const key = [...x.names].sort().join('/') + x.res.map((re) => `/${re.source}`).join('');
      spec.set(dir, { relevant: (n) => x.names.has(n) || x.res.some((re) => re.test(n)), key });
    }
    return spec;
  }

  private async rescan(): Promise<void> {
    const dangling: string[] = [];
    const overlaps: Overlap[] = [];
    const found = await scan(this.o.patterns, dangling, overlaps);
    this.dangling = dangling;
    this.sayOverlaps(overlaps);
    for (const [key, t] of this.files) {
      // A rotation chain (.8 -> .9, …, spark.log -> .1) between the scan's
      // readdir and its stats hides one inode under every name: before taking
      // a file for gone, look for it again by inode (a file really gone has no
      // link left, or only names the patterns do not match).
      const f = found.get(key) ?? (await this.findAgain(t));
      t.gone = !f;
      if (!f) continue;
      found.delete(key);
      if (t.entry.path !== f.path) {
        t.entry.path = f.path;
        this.generation++;
      }
      await this.checkFingerprint(t, f.size);
    }
    await this.discover([...found.values()]);
  }

  private async findAgain(t: Tracked): Promise<Found | undefined> {
    const s = await t.fh.stat({ bigint: true }).catch(() => undefined);
    if (!s || s.nlink === 0n) return undefined;
    const f = await findInDir(dirname(t.entry.path), t.entry.dev, t.entry.ino);
    return f && watched(this.o.patterns, f.path) ? f : undefined;
  }

  /** First bytes changed: truncated and rewritten past our offset between two polls. Else extend a short fingerprint. */
  private async checkFingerprint(t: Tracked, size: number): Promise<void> {
    const e = t.entry;
    if (e.fpLen >= FINGERPRINT_BYTES || size <= e.fpLen) {
      if (e.fpLen > 0 && size >= e.fpLen && (await fingerprint(t.fh, e.fpLen)) !== e.fpHash) this.pendingTruncation.add(t);
      return;
    }
    if (e.fpLen > 0 && (await fingerprint(t.fh, e.fpLen)) !== e.fpHash) {
      this.pendingTruncation.add(t);
      return;
    }
    if (t.head) return; // extended from the bytes read (extendHead)
    const len = Math.min(size, FINGERPRINT_BYTES);
    const hash = await fingerprint(t.fh, len);
    if (hash !== undefined) {
      e.fpLen = len;
      e.fpHash = hash;
      this.generation++;
    }
  }

  private readonly pendingTruncation = new Set<Tracked>();

  private extendHead(t: Tracked, chunk: Buffer): void {
    const head = Buffer.concat([t.head!, chunk.subarray(0, FINGERPRINT_BYTES - t.head!.length)]);
    t.head = head;
    if (head.length > t.entry.fpLen) {
      t.entry.fpLen = head.length;
      t.entry.fpHash = hashHead(head);
      this.generation++;
    }
  }

  private truncated(t: Tracked, batches: SourceBatch[], now: number, why: string): void {
    // What was read before the truncation is still in memory: send it under the old identity.
    t.decoder.flush(now);
    const evs = t.decoder.take();
    if (evs.length) batches.push({ src: t.src, events: evs, n: t.decoder.takenFrom });
    this.counts.truncations++;
    t.log.warn({ event: 'fileTruncated', why, oldFileId: t.entry.fileId }, 'file truncated (copytruncate?): reading it again from 0 under a new file id');
    t.entry = this.newEntry(t.entry.path, t.entry.dev, t.entry.ino, t.entry.stream);
    this.order = undefined; // its name may have changed (renamed before it was truncated)
    t.src = this.source(t.entry);
    t.log = this.o.log.child({ file: t.entry.path, fileId: t.entry.fileId });
    t.decoder = this.newDecoder(t.entry, 0, 0);
    t.head = Buffer.alloc(0);
    this.pendingTruncation.delete(t);
  }

  private async reattach(e: FileEntry, f: Found): Promise<Tracked | undefined> {
    const fh = await open(f.path, 'r').catch(() => undefined);
    if (!fh) return undefined;
    const same = e.fpLen === 0 || (await fingerprint(fh, e.fpLen)) === e.fpHash;
    if (!same) {
      // Same inode, different first bytes: the inode was reused by a new file.
      await fh.close();
      return undefined;
    }
    const entry = { ...e, path: f.path };
    const t = this.track(entry, fh, f.size);
    if (f.size < e.off) this.truncated(t, [], this.now(), `size ${f.size} below checkpoint ${e.off} at start`);
    return t;
  }

  private async discover(found: Found[]): Promise<void> {
    // Files found together are numbered oldest first: rotated files keep their order.
    found.sort((a, b) => a.mtimeMs - b.mtimeMs || a.path.localeCompare(b.path));
    for (const f of found) {
      const fh = await open(f.path, 'r').catch(() => undefined);
      if (!fh) continue;
      const s = await fh.stat({ bigint: true });
      const key = fileKey(String(s.dev), String(s.ino));
      if (this.files.has(key)) {
        await fh.close();
        continue;
      }
      const entry = this.newEntry(f.path, String(s.dev), String(s.ino), f.stream);
      const size = Number(s.size);
      const len = Math.min(size, FINGERPRINT_BYTES);
      entry.fpHash = (await fingerprint(fh, len)) ?? entry.fpHash;
      entry.fpLen = entry.fpHash ? len : 0;
      const t = this.track(entry, fh, size);
      t.log.info({ event: 'fileDiscovered', size, ...(entry.stream !== undefined ? { stream: entry.stream } : {}) }, 'tailing a new file');
    }
  }

  private newEntry(path: string, dev: string, ino: string, stream: 'stdout' | 'stderr' | undefined): FileEntry {
    this.newIdentities = true;
    this.generation++;
    const e: FileEntry = { fileId: randomBytes(9).toString('base64url'), fileSeq: this.nextSeq++, file: path, path, dev, ino, fpLen: 0, fpHash: '', off: 0, n: 0 };
    if (stream !== undefined) e.stream = stream;
    return e;
  }

  private source(e: FileEntry): SourceIdentity {
    const src: SourceIdentity = { ...this.o.identity, file: e.file, fileId: e.fileId, fileSeq: e.fileSeq };
    if (e.stream !== undefined) {
      // A whole stream of the app container: labelled as such, and not in the app's log layout.
      src.stream = e.stream;
      delete src.pattern;
    }
    return src;
  }

  /** A file's decoder: a stream's files are cut as such (every line an event but a Java trace's). */
  private newDecoder(e: FileEntry, start: number, n: number): FileDecoder {
    const o = e.stream !== undefined ? (this.o.streamDecoder ?? this.o.decoder) : this.o.decoder;
    return new FileDecoder(o, start, this.o.stats, n);
  }

  /** Files that patterns of two kinds name: read as the first kind's; said once per file. */
  private readonly overlapsSaid = new Set<string>();

  private sayOverlaps(overlaps: Overlap[]): void {
    for (const x of overlaps) {
      if (this.overlapsSaid.has(x.path) || this.overlapsSaid.size >= 1000) continue;
      this.overlapsSaid.add(x.path);
      const kind = (p: PathPattern) => p.stream ?? 'log';
      this.o.log.warn(
        { event: 'pathsOverlap', file: x.path, readAs: kind(x.kept), pattern: x.kept.literal, alsoMatchedBy: x.other.literal, ignoredAs: kind(x.other) },
        `${x.path} is matched as ${kind(x.kept)} (${x.kept.literal}) and as ${kind(x.other)} (${x.other.literal}): read as ${kind(x.kept)}, the first of paths, stdoutPaths, stderrPaths`,
      );
    }
  }

  private track(entry: FileEntry, fh: FileHandle, size: number): Tracked {
    const t: Tracked = {
      entry,
      src: this.source(entry),
      fh,
      decoder: this.newDecoder(entry, entry.off, entry.n ?? 0),
      size,
      lastDataAt: this.now(),
      gone: false,
      log: this.o.log.child({ file: entry.path, fileId: entry.fileId }),
      head: entry.off === 0 ? Buffer.alloc(0) : undefined,
    };
    this.files.set(fileKey(entry.dev, entry.ino), t);
    this.order = undefined;
    this.generation++;
    return t;
  }

  private release(t: Tracked): void {
    this.files.delete(fileKey(t.entry.dev, t.entry.ino));
    this.order = undefined;
    this.generation++;
    this.counts.released++;
    t.log.info({ event: 'fileReleased', off: t.entry.off }, 'file rotated away or deleted and read to its end: let go');
    void t.fh.close().catch(() => undefined);
  }
}
