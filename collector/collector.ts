import type { Logger } from '../contract/log.js';
import { DEFAULT_RETRY, sleep } from '../contract/retry.js';
import { StateFile } from './checkpoint/state-file.js';
import { SOURCE_KINDS, type CollectorConfig } from './config.js';
import type { BaseIdentity } from './identity.js';
import type { CollectorMetrics } from './metrics.js';
import { FileEvents, type WatchFn } from './sources/file-events.js';
import { compilePatterns } from './sources/scan.js';
import { Tailer } from './sources/tailer.js';
import { BatchSender, toMessages } from './sinks/batch-sender.js';
import type { LineSink } from './sinks/kafka.js';
import { decoderOptions, decoderSettings, writeSpool, type SpoolResult } from './spool/spool.js';
import { newDecoderStats, type DecoderStats } from './transforms/file-decoder.js';
import { YoungGenPolicy } from './young-gen.js';

// The collector's loop: read a bounded round from every file, send it, and
// only after Kafka acknowledged it advance the offsets; checkpoint. One round
// is in flight at a time, so memory is bounded by maxInFlightBytes and a
// Kafka outage simply stops the reading. While every file is idle the loop
// sleeps up to idlePollIntervalMs and the kernel's file events on the files'
// directories end that sleep (sources/file-events.ts); while data flows it
// polls every pollIntervalMs, as it does when events are off or unavailable.

export interface CollectorParts {
  config: CollectorConfig;
  identity: BaseIdentity;
  sink: LineSink;
  log: Logger;
  metrics: (unread: () => { file: string; bytes: number }[]) => CollectorMetrics;
  /** How directories are watched (fs.watch; a test makes it fail as the kernel can). */
  watchFn?: WatchFn;
}

export class Collector {
  private draining = false;
  private wake = new AbortController();
  private readonly stop = new AbortController();
  private tailer: Tailer | undefined;
  readonly stats: DecoderStats = newDecoderStats();
  metrics: CollectorMetrics | undefined;

  constructor(private readonly p: CollectorParts) {}

  /** SIGTERM: read every file to its end, flush, send, checkpoint, then run() resolves. */
  drain(): void {
    this.draining = true;
    this.wake.abort();
  }

  /** Deadline passed: stop retrying. */
  abort(): void {
    this.stop.abort();
    this.wake.abort();
  }

  unread(): { file: string; bytes: number }[] {
    return this.tailer?.unread() ?? [];
  }

  async unreadNow(): Promise<{ file: string; bytes: number }[]> {
    return (await this.tailer?.unreadNow()) ?? [];
  }

  private finished = false;
  private spoolWanted: ((r: SpoolResult | Error) => void) | undefined;

  /**
   * The deadline is near and Kafka has not acknowledged everything: stop
   * sending and copy what is unacknowledged into the spool directory. Resolves
   * once run() has stopped and the entry is written (or with the error).
   */
  spoolAndStop(): Promise<SpoolResult | Error> {
    const done = new Promise<SpoolResult | Error>((resolve) => (this.spoolWanted = resolve));
    if (!this.tailer || this.finished) this.spoolWanted!(new Error(this.finished ? 'the collector already stopped' : 'nothing is tailed yet'));
    this.abort();
    return done;
  }

  async run(): Promise<void> {
    const { config: c, log } = this.p;
    const store = new StateFile(c.stateDir, log);
    const loaded = await store.load();
    const tailer = await Tailer.start(
      {
        // The app's log first: a file that globs of two kinds match is read as the first (config.ts SOURCE_KINDS).
        patterns: SOURCE_KINDS.flatMap((k) => compilePatterns(c[k.setting] ?? [], { setting: k.setting, ...(k.stream !== undefined ? { stream: k.stream } : {}) })),
        decoder: decoderOptions(decoderSettings(c)),
        // stdout's and stderr's files are cut alike (the stream only labels them).
        streamDecoder: decoderOptions(decoderSettings(c), 'stdout'),
        identity: this.p.identity,
        readChunkBytes: c.readChunkBytes,
        maxRoundBytes: c.maxInFlightBytes,
        flushTimeoutMs: c.flushTimeoutMs,
        scanIntervalMs: c.pollIntervalMs,
        log,
        stats: this.stats,
      },
      loaded.state,
    );
    this.tailer = tailer;
    const m = (this.metrics = this.p.metrics(() => tailer.unread()));
    m.dropped.inc({ reason: 'file_gone_at_start' }, tailer.counts.lostOnRestart);
    const sender = new BatchSender({
      sink: this.p.sink,
      batchMaxBytes: c.batchMaxBytes,
      retry: { ...DEFAULT_RETRY, maxMs: c.retryMaxMs },
      log,
      onError: () => m.kafkaErrors.inc(),
    });
    // An idle collector's state does not change: skip the write (two fsyncs) when the tailer changed nothing since.
    let written = -1;
    const checkpoint = async () => {
      const generation = tailer.generation;
      if (generation !== written) {
        await store.write(tailer.state());
        written = generation;
        m.checkpoints.inc();
      }
      lastCheckpoint = Date.now();
    };
    let lastCheckpoint = 0;
    // Identities of newly found files are persisted before any of their lines is sent.
    await checkpoint();
    const streams = { ...(c.stdoutPaths?.length ? { stdoutPaths: c.stdoutPaths } : {}), ...(c.stderrPaths?.length ? { stderrPaths: c.stderrPaths } : {}) };
    log.info({ event: 'collectorStarted', identity: this.p.identity, paths: c.paths, ...streams, checkpoint: loaded.from, files: tailer.state().files.length }, 'collecting');
    const seen = { ...this.stats, truncations: 0 };
    const youngGen = new YoungGenPolicy();
    const fileEvents = c.fileEvents ? new FileEvents(log, this.p.watchFn) : undefined;
    const idleMs = Math.max(c.idlePollIntervalMs, c.pollIntervalMs);
    let sleeping = false;

    try {
      for (;;) {
        const drain = this.draining;
        // Events from here on are about changes this poll may not have seen.
        fileEvents?.take();
        const round = await tailer.poll(drain);
        youngGen.observe(round.bytesRead);
        if (round.newIdentities) await checkpoint();
        let events = 0;
        const messages = round.batches.flatMap((b) => {
          events += b.events.length;
          return toMessages(b.src, b.events, c.batchMaxBytes, b.n);
        });
        m.bytesRead.inc(round.bytesRead);
        m.linesRead.inc(events);
        if (messages.length) {
          m.linesSent.inc(events);
          m.messagesSent.inc(messages.length);
          if (!(await sender.send(messages, this.stop.signal))) return;
          m.linesAcked.inc(events);
        }
        const released = round.commit();
        this.countDrops(seen, tailer.counts.truncations);
        if (drain && round.drained) {
          await checkpoint();
          log.info({ event: 'collectorDrained' }, 'every file read to its end and acknowledged');
          return;
        }
        if (released > 0 || Date.now() - lastCheckpoint >= c.checkpointIntervalMs) await checkpoint();
        if (this.stop.signal.aborted) return;
        if (round.bytesRead === 0) {
          // Long sleep only when the watches were in place before this poll began and
          // nothing was reported since: else a change could fall between the two.
          const armed = fileEvents && !drain ? await this.arm(fileEvents, tailer) : 'unavailable';
          // An unwritten checkpoint is written first (at its interval), so a long sleep never holds back acknowledged offsets.
          if (armed === 'ready' && !fileEvents!.take() && tailer.generation === written) {
            if (!sleeping) log.debug({ event: 'idleSleep', dirs: fileEvents!.watching, maxMs: idleMs }, 'every file idle: sleeping until a file event or the safety-net poll');
            sleeping = true;
            const why = await fileEvents!.wait(c.pollIntervalMs, idleMs, this.wake.signal);
            if (why === 'event') log.debug({ event: 'idleWake' }, 'a file event ended the idle sleep');
          } else {
            sleeping = false;
            await sleep(drain ? 20 : c.pollIntervalMs, this.wake.signal);
          }
          if (this.wake.signal.aborted && !this.stop.signal.aborted) this.wake = new AbortController();
        } else {
          sleeping = false;
          fileEvents?.disarm();
        }
      }
    } finally {
      fileEvents?.disarm();
      if (this.spoolWanted) await this.spool(tailer, checkpoint);
      await tailer.close();
      this.finished = true;
    }
  }

  /** Watches what an idle tailer needs watched; closes the watches while files are being read. */
  private async arm(events: FileEvents, tailer: Tailer): Promise<'ready' | 'opened' | 'unavailable'> {
    if (!events.available) return 'unavailable';
    const spec = await tailer.idleSpec();
    if (!spec) {
      events.disarm();
      return 'unavailable';
    }
    return events.arm(spec);
  }

  private async spool(tailer: Tailer, checkpoint: () => Promise<void>): Promise<void> {
    const c = this.p.config;
    const resolve = this.spoolWanted!;
    try {
      // Files rotated in while sending was stuck were never scanned: find them, and
      // persist their identities (acknowledged offsets only) before they are spooled.
      await tailer.refresh();
      await checkpoint();
      const r = await writeSpool(c.spoolDir!, this.p.identity, decoderSettings(c), tailer.spoolSources(), c.spoolMaxBytes);
      resolve(r);
    } catch (err) {
      resolve(err as Error);
    }
  }

  private countDrops(seen: DecoderStats & { truncations: number }, truncations: number): void {
    const m = this.metrics!;
    const s = this.stats;
    if (s.skippedBytes > seen.skippedBytes) m.dropped.inc({ reason: 'line_truncated' }, s.skippedBytes - seen.skippedBytes);
    if (s.nulBytes > seen.nulBytes) m.dropped.inc({ reason: 'nul_bytes' }, s.nulBytes - seen.nulBytes);
    if (truncations > seen.truncations) m.truncations.inc(truncations - seen.truncations);
    if (s.truncatedLines > seen.truncatedLines) this.p.log.warn({ event: 'linesTruncated', lines: s.truncatedLines - seen.truncatedLines, maxLineBytes: this.p.config.maxLineBytes }, 'lines longer than the limit were cut');
    Object.assign(seen, s, { truncations });
  }
}
