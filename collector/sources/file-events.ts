import { watch, type FSWatcher } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from '../../contract/log.js';

// The kernel's file events (inotify, through fs.watch) on the directories an
// idle collector's files live in. They only end a long idle sleep: the poll
// still does all the reading and decides what changed, so a lost, merged or
// spurious event costs at most the safety-net poll's delay, never a line.
// Watching is armed only while every file is idle (a file written at 1,000
// lines/s would otherwise cost a callback per write) and falls back to the
// plain poll, with one warning, when the kernel refuses a watch (inotify
// limits: ENOSPC, EMFILE; a file system without inotify).

/** fs.watch's shape, so a test can make it fail the way the kernel does. */
export type WatchFn = (dir: string, onEvent: (name: string | null) => void) => FSWatcher;

const fsWatch: WatchFn = (dir, onEvent) => watch(dir, { persistent: false }, (_type, name) => onEvent(name));

/**
 * Per directory: which of its names concern the tailer (its patterns and the
 * real names of its files), and a key that changes when that set does.
 */
export type WatchSpec = Map<string, { relevant: (name: string) => boolean; key: string }>;

interface Watched {
  w: FSWatcher;
  relevant: (name: string) => boolean;
  key: string;
  /** The directory itself was deleted or moved (or the watch broke): open it again at the next arm. */
  stale: boolean;
}

export type ArmResult = 'ready' | 'opened' | 'unavailable';

export class FileEvents {
  private readonly dirs = new Map<string, Watched>();
  private disabled = false;
  private fired = false;
  private onFire: (() => void) | undefined;

  constructor(
    private readonly log: Logger,
    private readonly watchFn: WatchFn = fsWatch,
  ) {}

  /** false once the kernel refused a watch: the collector polls at its fast interval for good. */
  get available(): boolean {
    return !this.disabled;
  }

  /** How many directories are watched now (resources are bounded by the tracked files). */
  get watching(): number {
    return this.dirs.size;
  }

  /**
   * Watches exactly the directories of `spec`, closing the others. 'ready':
   * every one was already watched for the same names before this call (so a
   * poll that started before it saw everything an event would report);
   * 'opened': some were opened (or their names changed) just now (a change before that was not reported: poll once more
   * first); 'unavailable': one could not be watched.
   */
  arm(spec: WatchSpec): ArmResult {
    if (this.disabled) return 'unavailable';
    for (const [dir, x] of this.dirs) {
      if (!spec.has(dir) || x.stale) this.closeDir(dir);
    }
    let result: ArmResult = 'ready';
    for (const [dir, { relevant, key }] of spec) {
      const x = this.dirs.get(dir);
      if (x) {
        // Other names matter now: an event about one of them before this call was filtered out.
        if (x.key !== key) result = 'opened';
        x.relevant = relevant;
        x.key = key;
        continue;
      }
      try {
        const entry: Watched = { w: undefined as unknown as FSWatcher, relevant, key, stale: false };
        const self = basename(dir);
        entry.w = this.watchFn(dir, (name) => {
          // No name, or the directory's own name (deleted or moved itself): wake, and reopen it later.
          if (name === null || name === self) entry.stale = true;
          if (name === null || name === self || entry.relevant(name)) this.fire();
        });
        entry.w.on('error', () => {
          entry.stale = true;
          this.fire();
        });
        this.dirs.set(dir, entry);
        result = 'opened';
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Gone (a moment ago, or not made yet): the fast poll covers it until it can be watched.
        if (code === 'ENOENT' || code === 'ENOTDIR') return 'unavailable';
        this.disabled = true;
        this.disarm();
        this.log.warn({ event: 'fileEventsUnavailable', dir, code, err }, 'cannot watch the log directories for changes (inotify limits? fs.inotify.max_user_watches / max_user_instances): polling every pollIntervalMs instead, as with fileEvents=false');
        return 'unavailable';
      }
    }
    return result;
  }

  /** Closes every watch (files are being read: their events would only cost callbacks). */
  disarm(): void {
    for (const dir of [...this.dirs.keys()]) this.closeDir(dir);
  }

  /** Whether a relevant event came since the last call. */
  take(): boolean {
    const f = this.fired;
    this.fired = false;
    return f;
  }

  /**
   * Sleeps up to `maxMs`; a relevant event (or one that came since take())
   * ends it, but not before `minMs`, so events never poll faster than the
   * usual cadence. `signal` ends it at once.
   */
  wait(minMs: number, maxMs: number, signal: AbortSignal): Promise<'event' | 'timeout' | 'signal'> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve('signal');
      const start = Date.now();
      let timer: NodeJS.Timeout;
      const done = (why: 'event' | 'timeout' | 'signal') => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.onFire = undefined;
        resolve(why);
      };
      const onAbort = () => done('signal');
      const onEvent = () => {
        this.onFire = undefined;
        const left = minMs - (Date.now() - start);
        if (left <= 0) return done('event');
        clearTimeout(timer);
        timer = setTimeout(() => done('event'), left);
      };
      timer = setTimeout(() => done('timeout'), maxMs);
      signal.addEventListener('abort', onAbort, { once: true });
      if (this.fired) onEvent();
      else this.onFire = onEvent;
    });
  }

  private closeDir(dir: string): void {
    const x = this.dirs.get(dir);
    if (!x) return;
    this.dirs.delete(dir);
    x.w.close();
  }

  private fire(): void {
    this.fired = true;
    this.onFire?.();
  }
}
