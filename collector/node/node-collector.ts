import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppType } from '../../contract/identity.js';
import type { Logger } from '../../contract/log.js';
import { DEFAULT_RETRY, sleep } from '../../contract/retry.js';
import { StateFile } from '../checkpoint/state-file.js';
import type { BaseIdentity } from '../identity.js';
import type { CollectorMetrics } from '../metrics.js';
import { BatchSender, toMessages } from '../sinks/batch-sender.js';
import type { LineSink, OutMessage } from '../sinks/kafka.js';
import { Tailer, type Round } from '../sources/tailer.js';
import { decoderOptions, decoderSettings } from '../spool/spool.js';
import { newDecoderStats, type DecoderOptions, type DecoderStats } from '../transforms/file-decoder.js';
import { YoungGenPolicy } from '../young-gen.js';
import type { NodeConfig } from './config.js';
import { directoryIdentity, podVerdict } from './pod-identity.js';
import type { PodInfo } from './pods.js';

// The node mode's loop: one collector reads the kubelet's log files of every
// pod on its node (<podLogDir>/<namespace>_<pod>_<uid>/<container>/<n>.log,
// CRI format). Each pod container is a unit with its own Tailer (the
// sidecar's tail state machine: rotation, truncation, fingerprints) and its
// own checkpoint directory; all units share one Kafka sink and one round in
// flight, so memory is bounded as the sidecar's is (at most maxInFlightBytes
// per round, plus one file's read).
//
// A unit's files are opened as soon as its directory is seen, before the
// pod's identity is known: the kubelet deletes the directory with the pod,
// but an open file stays readable, so the held files are the buffer of a
// pod the API has not described yet. Once the pod is known (watch event,
// deleted pods included) the unit is read; after identityWaitMs without it
// the unit is shipped under its directory's namespace/pod (counted and
// logged: nodeIdentityFallback).

/** The kubelet's file names: the live `<restart>.log` and its rotated `<restart>.log.<YYYYMMDD-hhmmss>` (not `.gz`, not `.tmp`). */
const CRI_FILE = /^\d+\.log(?:\.\d{8}-\d{6})?$/;
const POD_DIR = /^([a-z0-9][a-z0-9.-]*)_([a-z0-9][a-z0-9.-]*)_([A-Za-z0-9-]+)$/;

export interface PodDir {
  namespace: string;
  pod: string;
  uid: string;
}

/** `<namespace>_<pod>_<uid>` (names are DNS labels/subdomains, so `_` only separates). */
export function parsePodDir(name: string): PodDir | undefined {
  const m = POD_DIR.exec(name);
  return m ? { namespace: m[1]!, pod: m[2]!, uid: m[3]! } : undefined;
}

export interface NodeParts {
  config: NodeConfig;
  sink: LineSink;
  log: Logger;
  /** The pods of this node; listedAt: when the first complete list arrived (undefined before). */
  pods: { get(uid: string): PodInfo | undefined; listedAt(): number | undefined };
  metrics: (unread: () => { file: string; bytes: number }[]) => CollectorMetrics;
  now?: () => number;
}

interface Unit {
  key: string;
  dir: PodDir;
  podDir: string;
  container: string;
  logDir: string;
  stateDir: string;
  store: StateFile;
  tailer: Tailer;
  identity: BaseIdentity | undefined;
  since: number;
  /** The tailer's generation last checkpointed (-1: none yet). */
  written: number;
  lastCheckpoint: number;
  log: Logger;
}

export interface NodeCounts {
  /** Units shipped under their directory's name (the pod never described). */
  unidentified: number;
  /** Pod containers left out (not ours, or with a sidecar). */
  skipped: number;
  /** Pod containers read (units created). */
  units: number;
}

const IDENTITY_FILE = 'identity.json';

export class NodeCollector {
  private readonly units = new Map<string, Unit>();
  /** Containers left out, with why (dropped once their directory is gone). */
  private readonly skipped = new Map<string, string>();
  private stopping = false;
  private wake = new AbortController();
  private lastDiscover = -Infinity;
  private rr = 0;
  readonly stats: DecoderStats = newDecoderStats();
  readonly counts: NodeCounts = { unidentified: 0, skipped: 0, units: 0 };
  metrics: CollectorMetrics | undefined;
  private readonly now: () => number;

  constructor(private readonly p: NodeParts) {
    this.now = p.now ?? Date.now;
  }

  /** Pod containers held open while their pod is not known yet. */
  get waiting(): number {
    let n = 0;
    for (const u of this.units.values()) if (!u.identity) n++;
    return n;
  }

  get active(): number {
    return this.units.size - this.waiting;
  }

  /** SIGTERM: finish the round in flight, checkpoint every unit, then run() resolves (the next start resumes there). */
  stop(): void {
    this.stopping = true;
    this.wake.abort();
  }

  /** A pod event: look at waiting units now rather than at the next poll. */
  poke(): void {
    if (this.waiting > 0) this.wake.abort();
  }

  unread(): { file: string; bytes: number }[] {
    return [...this.units.values()].flatMap((u) => u.tailer.unread());
  }

  async run(): Promise<void> {
    const { config: c, log } = this.p;
    await mkdir(join(c.stateDir, 'pods'), { recursive: true });
    const m = (this.metrics = this.p.metrics(() => this.unread()));
    const sender = new BatchSender({ sink: this.p.sink, batchMaxBytes: c.batchMaxBytes, retry: { ...DEFAULT_RETRY, maxMs: c.retryMaxMs }, log, onError: () => m.kafkaErrors.inc() });
    const stop = new AbortController();
    const youngGen = new YoungGenPolicy();
    await this.forgetGone();
    log.info({ event: 'collectorStarted', mode: 'node', node: c.node, podLogDir: c.podLogDir, stateDir: c.stateDir }, 'collecting the pod logs of this node');
    try {
      for (;;) {
        const now = this.now();
        if (now - this.lastDiscover >= c.discoverIntervalMs) {
          await this.discover();
          this.lastDiscover = now;
        }
        await this.identifyWaiting(now);
        const units = [...this.units.values()].filter((u) => u.identity);
        this.rr = (this.rr + 1) % Math.max(1, units.length);
        const rounds: [Unit, Round][] = [];
        let bytesRead = 0;
        for (let k = 0; k < units.length && bytesRead < c.maxInFlightBytes; k++) {
          const u = units[(k + this.rr) % units.length]!;
          const r = await u.tailer.poll(false);
          bytesRead += r.bytesRead;
          rounds.push([u, r]);
          // New file identities are persisted before any of their lines is sent.
          if (r.newIdentities) await this.checkpoint(u);
        }
        youngGen.observe(bytesRead);
        let events = 0;
        const messages: OutMessage[] = [];
        for (const [, r] of rounds) {
          for (const b of r.batches) {
            events += b.events.length;
            messages.push(...toMessages(b.src, b.events, c.batchMaxBytes, b.n));
          }
        }
        m.bytesRead.inc(bytesRead);
        m.linesRead.inc(events);
        if (messages.length) {
          m.linesSent.inc(events);
          m.messagesSent.inc(messages.length);
          if (!(await sender.send(messages, stop.signal))) return;
          m.linesAcked.inc(events);
        }
        const t = this.now();
        for (const [u, r] of rounds) {
          const released = r.commit();
          if (released > 0 || t - u.lastCheckpoint >= c.checkpointIntervalMs) await this.checkpoint(u);
        }
        await this.finishGone();
        this.countDrops();
        if (this.stopping) {
          for (const u of this.units.values()) if (u.identity) await this.checkpoint(u);
          log.info({ event: 'collectorStopping', units: this.units.size }, 'checkpointed every pod container: the next start resumes there');
          return;
        }
        if (bytesRead === 0) {
          await sleep(c.pollIntervalMs, this.wake.signal);
          if (this.wake.signal.aborted) this.wake = new AbortController();
        }
      }
    } finally {
      for (const u of this.units.values()) await u.tailer.close();
    }
  }

  private async checkpoint(u: Unit): Promise<void> {
    // The tailer bumps its generation on every change of its state: an unchanged one needs no write (two fsyncs).
    const generation = u.tailer.generation;
    if (generation !== u.written) {
      await u.store.write(u.tailer.state());
      u.written = generation;
      this.metrics?.checkpoints.inc();
    }
    u.lastCheckpoint = this.now();
  }

  private decoder(identity: BaseIdentity): DecoderOptions {
    const c = this.p.config;
    return decoderOptions(
      decoderSettings({
        format: 'cri',
        maxLineBytes: c.maxLineBytes,
        multiline: c.multiline,
        appType: identity.appType as AppType,
        firstLine: c.firstLine,
        logPattern: identity.pattern,
        maxEventLines: c.maxEventLines,
        maxEventBytes: c.maxEventBytes,
      }),
    );
  }

  /** Checkpoint directories of pod containers whose log directory is gone (deleted while this collector was down). */
  private async forgetGone(): Promise<void> {
    const c = this.p.config;
    const root = join(c.stateDir, 'pods');
    for (const podDir of await readdir(root).catch(() => [] as string[])) {
      for (const container of await readdir(join(root, podDir)).catch(() => [] as string[])) {
        if (existsSync(join(c.podLogDir, podDir, container))) continue;
        const files = await new StateFile(join(root, podDir, container), this.p.log).load().then((l) => l.state.files.filter((f) => f.off >= 0), () => []);
        this.metrics?.dropped.inc({ reason: 'file_gone_at_start' }, files.length);
        this.p.log.warn({ event: 'checkpointPodGone', podDir, container, files: files.map((f) => ({ file: f.path, off: f.off })) }, 'a checkpointed pod container\'s log directory is gone: the kubelet removed it while this collector was not running; its unread end (if any) cannot be read');
        await rm(join(root, podDir, container), { recursive: true, force: true });
      }
      await rmdir(join(root, podDir)).catch(() => undefined);
    }
  }

  /** New pod log directories and containers: a unit each (files opened at once), or left out. */
  private async discover(): Promise<void> {
    const c = this.p.config;
    const present = new Set<string>();
    const names = await readdir(c.podLogDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') this.p.log.error({ event: 'podLogDirUnreadable', dir: c.podLogDir, err: err.message }, 'cannot read the pod log directory');
      return [] as string[];
    });
    for (const podDir of names.sort()) {
      const dir = parsePodDir(podDir);
      if (!dir) continue;
      if (c.namespaces.length && !c.namespaces.includes(dir.namespace)) continue;
      const containers = await readdir(join(c.podLogDir, podDir)).catch(() => [] as string[]);
      for (const container of containers) {
        const key = `${podDir}/${container}`;
        present.add(key);
        if (this.units.has(key) || this.skipped.has(key)) continue;
        await this.addUnit(dir, podDir, container);
      }
    }
    for (const key of this.skipped.keys()) if (!present.has(key)) this.skipped.delete(key);
    // Waiting units keep holding what the kubelet writes meanwhile (a rotated file), without reading it.
    for (const u of this.units.values()) if (!u.identity) await u.tailer.refresh();
  }

  private async addUnit(dir: PodDir, podDir: string, container: string): Promise<void> {
    const c = this.p.config;
    const key = `${podDir}/${container}`;
    const log = this.p.log.child({ pod: `${dir.namespace}/${dir.pod}`, uid: dir.uid, container });
    const stateDir = join(c.stateDir, 'pods', podDir, container);
    // An identity persisted by an earlier run wins: the pod may be gone from the API by now.
    let identity = await readFile(join(stateDir, IDENTITY_FILE), 'utf8').then((t) => JSON.parse(t) as BaseIdentity, () => undefined);
    let invalid = false;
    if (!identity) {
      const info = this.p.pods.get(dir.uid);
      if (info) {
        const v = this.verdict(info, container, log);
        if (!v) invalid = true;
        else if (!v.collect) return this.skip(key, v.why, log);
        else identity = v.identity;
      }
    }
    // Bounded: the oldest waiting unit is shipped under its directory's name to make room.
    if (!identity && !invalid && this.waiting >= c.maxWaiting) {
      const oldest = [...this.units.values()].find((u) => !u.identity);
      if (oldest) await this.fallback(oldest, 'too many pod containers waiting for their pod (maxWaiting)');
    }
    const store = new StateFile(stateDir, log);
    const loaded = await store.load();
    const pattern = { dir: join(c.podLogDir, podDir, container), name: CRI_FILE, literal: join(c.podLogDir, podDir, container, '*.log') };
    const placeholder = directoryIdentity(dir, c.node, container);
    const tailer = await Tailer.start(
      {
        patterns: [pattern],
        decoder: this.decoder(identity ?? placeholder),
        identity: identity ?? placeholder,
        readChunkBytes: c.readChunkBytes,
        maxRoundBytes: c.maxInFlightBytes,
        flushTimeoutMs: c.flushTimeoutMs,
        scanIntervalMs: c.pollIntervalMs,
        log,
        stats: this.stats,
      },
      loaded.state,
    );
    this.metrics?.dropped.inc({ reason: 'file_gone_at_start' }, tailer.counts.lostOnRestart);
    const u: Unit = { key, dir, podDir, container, logDir: pattern.dir, stateDir, store, tailer, identity: undefined, since: this.now(), written: -1, lastCheckpoint: 0, log };
    this.units.set(key, u);
    this.counts.units++;
    if (identity) await this.identify(u, identity);
    else if (invalid) await this.fallback(u, 'the pod\'s labels do not give a valid identity');
    else log.info({ event: 'podWaiting', files: tailer.size }, 'pod log directory of a pod not known yet: its files are held open until the pod is');
  }

  private verdict(info: PodInfo, container: string, log: Logger): ReturnType<typeof podVerdict> | undefined {
    try {
      return podVerdict(info, this.p.config.node, container);
    } catch (err) {
      // Labels of an app type with an id missing or malformed, or a bad log-pattern annotation: shipped under the directory's name.
      log.warn({ event: 'podIdentityInvalid', err: (err as Error).message }, 'the pod\'s labels do not give a valid identity');
      return undefined;
    }
  }

  private skip(key: string, why: string, log?: Logger): void {
    this.skipped.set(key, why);
    this.counts.skipped++;
    log?.debug({ event: 'podSkipped', why }, 'pod container left out');
  }

  private async identify(u: Unit, identity: BaseIdentity): Promise<void> {
    // Persisted before any line is sent, so a restart ships the rest under the same identity.
    await mkdir(u.stateDir, { recursive: true });
    const tmp = join(u.stateDir, `${IDENTITY_FILE}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(identity));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(u.stateDir, IDENTITY_FILE));
    u.tailer.identify(identity, this.decoder(identity));
    u.identity = identity;
    u.log.info({ event: 'podIdentified', appType: identity.appType, appId: identity.appId, executorId: identity.executorId, role: identity.role, waitedMs: this.now() - u.since, files: u.tailer.size }, 'reading a pod container');
  }

  private async fallback(u: Unit, why: string): Promise<void> {
    this.counts.unidentified++;
    const id = directoryIdentity(u.dir, this.p.config.node, u.container);
    u.log.warn({ event: 'nodeIdentityFallback', why, appId: id.appId, executorId: id.executorId, files: u.tailer.size }, 'shipping a pod container under its directory\'s namespace/pod (app type generic)');
    await this.identify(u, id);
  }

  private async identifyWaiting(now: number): Promise<void> {
    for (const u of this.units.values()) {
      if (u.identity) continue;
      const info = this.p.pods.get(u.dir.uid);
      if (info) {
        const v = this.verdict(info, u.container, u.log);
        if (!v) await this.fallback(u, 'the pod\'s labels do not give a valid identity');
        else if (v.collect) await this.identify(u, v.identity);
        else {
          this.units.delete(u.key);
          await u.tailer.close();
          await rm(u.stateDir, { recursive: true, force: true });
          this.skip(u.key, v.why, u.log);
        }
        continue;
      }
      // The wait counts from the first complete list: before it, a pod that is simply not listed yet
      // (the API server down at start-up) must not ship under its directory's name.
      const listedAt = this.p.pods.listedAt();
      if (listedAt !== undefined && now - Math.max(u.since, listedAt) >= this.p.config.identityWaitMs) {
        await this.fallback(u, `the API did not describe the pod within ${this.p.config.identityWaitMs} ms of listing this node's pods`);
      }
    }
  }

  /** Units whose directory is gone and whose files were all read and let go: their checkpoint goes too. */
  private async finishGone(): Promise<void> {
    for (const u of [...this.units.values()]) {
      if (!u.identity || u.tailer.size > 0 || existsSync(u.logDir)) continue;
      this.units.delete(u.key);
      await u.tailer.close();
      await rm(u.stateDir, { recursive: true, force: true });
      await rmdir(join(this.p.config.stateDir, 'pods', u.podDir)).catch(() => undefined); // empty once its last container is done
      u.log.info({ event: 'podFinished' }, 'pod container deleted and every line acknowledged: let go');
    }
  }

  private readonly seen = newDecoderStats();
  private countDrops(): void {
    const m = this.metrics!;
    const s = this.stats;
    if (s.skippedBytes > this.seen.skippedBytes) m.dropped.inc({ reason: 'line_truncated' }, s.skippedBytes - this.seen.skippedBytes);
    if (s.nulBytes > this.seen.nulBytes) m.dropped.inc({ reason: 'nul_bytes' }, s.nulBytes - this.seen.nulBytes);
    Object.assign(this.seen, s);
  }
}
