// One list-then-watch loop over Kubernetes pods, shared by the aggregator's
// pod watcher (aggregator/sources/kubernetes.ts) and the node collector's pod
// map (collector/node/pods.ts), so both survive the API server the same way.
// It does not import the Kubernetes client: each side passes its own list and
// watch calls, and keeps its one file that imports the client.
//
// Per scope (a namespace, or every namespace): list in pages, then watch from
// the list's resourceVersion; a watch the server closes is re-opened from the
// last resourceVersion seen (bookmarks included); 410 Gone, from the watch or
// from an expired continue token, means a relist; any other failure is retried
// with bounded backoff, and after 5 failures in a row the loop starts over
// from a list (the watch position may be what is wrong). A watch that sends
// nothing, not even bookmarks, for its timeout plus 90 s is taken for a
// connection that died without a FIN. A list that does not answer in
// listTimeoutMs fails (the generated client sets no timeout).
import type { Logger } from './log.js';
import { backoffMs, sleep, type RetryPolicy } from './retry.js';

export interface WatchedObject {
  metadata?: { uid?: string; resourceVersion?: string };
}

export interface ListPage<T> {
  items: T[];
  metadata?: { _continue?: string; resourceVersion?: string };
}

/** The client's Watch.watch, bound: resolves to something that aborts the request. */
export type WatchCall = (
  path: string,
  query: Record<string, string | number | boolean | undefined>,
  onEvent: (type: string, obj: unknown) => void,
  onDone: (err: unknown) => void,
) => Promise<{ abort(): void }>;

export interface ListWatchOptions<T extends WatchedObject> {
  /** Namespaces, each with its own list and watch; undefined: every namespace. */
  scopes: readonly (string | undefined)[];
  /** One page of the list of a scope (the caller adds its selectors and page size). */
  list(ns: string | undefined, continueToken: string | undefined): Promise<ListPage<T>>;
  watch: WatchCall;
  /** Added to every watch request (e.g. a field selector). */
  query?: Record<string, string | number | boolean | undefined>;
  /** The server closes a watch after this long plus up to 60 s of jitter. */
  watchTimeoutSeconds: number;
  listTimeoutMs: number;
  retry: RetryPolicy;
  log: Logger;
  signal: AbortSignal;
  now?: () => number;
  /** Every object of a list page (type ADDED) and every watch event but bookmarks and errors. */
  onObject(ns: string | undefined, type: string, obj: T): void;
  /** After a complete list: the uids present in the scope then (what is missing ended unseen). */
  onListed(ns: string | undefined, present: Set<string>, resourceVersion: string): void;
}

/** An insertion-ordered map of at most max entries: the oldest goes first (counted in dropped). */
export class BoundedMap<V> extends Map<string, V> {
  dropped = 0;
  constructor(private readonly max: number) {
    super();
  }
  override set(k: string, v: V): this {
    super.delete(k);
    super.set(k, v);
    while (this.size > this.max) {
      super.delete(this.keys().next().value!);
      this.dropped++;
    }
    return this;
  }
}

type End = { kind: 'closed'; events: number; rv: string } | { kind: 'gone' } | { kind: 'failed'; err: Error; rv: string };

/** HTTP status of a client error, where the client puts it. */
export function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  return typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
}

/** p, or a rejection naming `what` after ms, or as soon as the signal aborts (the request itself is left to end). */
export function within<T>(p: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    if (signal) {
      onAbort = () => reject(new Error(`${what}: stopped`));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  return Promise.race([p, late]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  });
}

const FAILURES_BEFORE_RELIST = 5;
const IDLE_GRACE_S = 90;

/** Runs one loop per scope until the signal aborts; resolves when every loop has ended. */
export function runListWatch<T extends WatchedObject>(o: ListWatchOptions<T>): { firstListed: Promise<void>; ended: Promise<void> } {
  const now = o.now ?? Date.now;
  const { signal, log } = o;

  async function relist(ns: string | undefined): Promise<string> {
    const present = new Set<string>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await within(o.list(ns, cont), o.listTimeoutMs, 'pod list', signal);
      for (const item of page.items) {
        const uid = item.metadata?.uid;
        if (uid) present.add(uid);
        o.onObject(ns, 'ADDED', item);
      }
      cont = page.metadata?._continue || undefined;
      rv = page.metadata?.resourceVersion ?? '';
    } while (cont && !signal.aborted);
    o.onListed(ns, present, rv);
    return rv;
  }

  function watchOnce(ns: string | undefined, rv: string): Promise<End> {
    const path = ns === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`;
    return new Promise((resolve) => {
      let events = 0;
      let lastRv = rv;
      let ctl: { abort(): void } | undefined;
      let settled = false;
      const idleMs = (o.watchTimeoutSeconds + IDLE_GRACE_S) * 1000;
      const finish = (end: End) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        clearTimeout(unanswered);
        signal.removeEventListener('abort', onStop);
        ctl?.abort();
        resolve(end);
      };
      // A connection that died without a FIN sends nothing, not even bookmarks: give up on it.
      const idleEnd = () => finish({ kind: 'failed', err: new Error(`watch idle for ${idleMs} ms`), rv: lastRv });
      let idle = setTimeout(idleEnd, idleMs);
      // A watch request the server never answers (no response headers) would otherwise wait for the idle timer.
      const unanswered = setTimeout(() => finish({ kind: 'failed', err: new Error(`watch: no answer within ${o.listTimeoutMs} ms`), rv: lastRv }), o.listTimeoutMs);
      const onStop = () => finish({ kind: 'closed', events, rv: lastRv });
      signal.addEventListener('abort', onStop, { once: true });
      o.watch(
        path,
        { ...o.query, allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: o.watchTimeoutSeconds + Math.floor(Math.random() * 60) },
        (type, raw) => {
          clearTimeout(idle);
          idle = setTimeout(idleEnd, idleMs);
          const obj = raw as T & { code?: number; message?: string };
          if (type === 'ERROR') {
            if (obj.code === 410) return finish({ kind: 'gone' });
            return finish({ kind: 'failed', err: new Error(`watch error ${obj.code ?? '?'}: ${obj.message ?? ''}`), rv: lastRv });
          }
          if (obj.metadata?.resourceVersion) lastRv = obj.metadata.resourceVersion;
          if (type === 'BOOKMARK') return;
          events++;
          o.onObject(ns, type, obj);
        },
        (err) => {
          if (!err) return finish({ kind: 'closed', events, rv: lastRv });
          if (statusCode(err) === 410) return finish({ kind: 'gone' });
          finish({ kind: 'failed', err: err as Error, rv: lastRv });
        },
      )
        .then((c) => {
          clearTimeout(unanswered);
          ctl = c;
          if (settled) c.abort();
        })
        .catch((err: unknown) => finish({ kind: 'failed', err: err as Error, rv: lastRv }));
    });
  }

  let listedCount = 0;
  let onFirstListed: () => void = () => undefined;
  const firstListed = new Promise<void>((r) => (onFirstListed = r));

  async function loop(ns: string | undefined): Promise<void> {
    const scope = ns ?? '*';
    let rv: string | undefined;
    let attempt = 0;
    let first = true;
    while (!signal.aborted) {
      try {
        if (rv === undefined) {
          rv = await relist(ns);
          if (first && ++listedCount === o.scopes.length) onFirstListed();
          first = false;
        }
        const opened = now();
        const end = await watchOnce(ns, rv);
        if (signal.aborted) return;
        if (end.kind === 'gone') {
          log.info({ event: 'podWatchExpired', scope }, 'resourceVersion expired (410 Gone): relisting');
          rv = undefined;
          continue;
        }
        rv = end.rv;
        if (end.kind === 'failed') throw end.err;
        // A server that closes every watch at once would otherwise be hammered.
        if (end.events === 0 && now() - opened < 1000) throw new Error('watch closed at once');
        attempt = 0;
      } catch (err) {
        if (signal.aborted) return;
        const code = statusCode(err);
        if (code === 410) rv = undefined; // an expired list continue token
        const ms = backoffMs(o.retry, attempt++);
        log.warn({ event: 'podWatchError', scope, status: code, err: (err as Error).message, retryInMs: ms }, 'pod watch failed, retrying');
        if (attempt % FAILURES_BEFORE_RELIST === 0) rv = undefined;
        await sleep(ms, signal);
      }
    }
  }

  const ended = Promise.all(o.scopes.map((ns) => loop(ns))).then(() => undefined);
  return { firstListed, ended };
}
