// The pods of this node, from the Kubernetes API (the collector's only
// importer of its client): one list, then a watch, both with the field
// selector spec.nodeName=<node>, so a node collector holds its own pods only.
// What each pod is (labels, annotations, containers) is kept by uid in a
// bounded map, deleted pods included: a pod often ends and is deleted before
// its last lines are read, and they are still shipped under its identity.
//
// Failures it is built for: a watch that breaks or that the server closes
// (re-watched from the last resourceVersion), 410 Gone (relist), an API server
// that is down (bounded backoff; the log directories meanwhile wait in the
// node collector, see node-collector.ts).
import { CoreV1Api, KubeConfig, Watch, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../contract/log.js';
import { backoffMs, sleep, type RetryPolicy } from '../../contract/retry.js';

export interface PodInfo {
  uid: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Names of every container (init containers included). */
  containers: string[];
  /** When a DELETED event (or a relist that no longer had it) was seen. */
  deletedAt?: number;
}

export interface PodWatchOptions {
  node: string;
  /** Watch these namespaces, each with its own list and watch (a RoleBinding in each suffices); empty: every namespace (a ClusterRoleBinding). */
  namespaces: readonly string[];
  maxKnown: number;
  log: Logger;
  retry: RetryPolicy;
  kubeconfig?: string;
  /** The server closes a watch after this long (plus jitter); it is then re-opened. */
  watchTimeoutSeconds?: number;
  /** Called after each pod event (the node collector looks at waiting directories at once). */
  onChange?: () => void;
}

export interface NodePods {
  get(uid: string): PodInfo | undefined;
  /** When every watched namespace had been listed once (undefined before). */
  listedAt(): number | undefined;
  readonly size: number;
  /** Resolves after the first complete list. */
  readonly listed: Promise<void>;
  stop(): void;
}

/** Only the fields the identity needs: a node's pods times maxKnown stays small. */
export function podInfo(p: V1Pod): PodInfo | undefined {
  const m = p.metadata;
  if (!m?.uid || !m.name || !m.namespace) return undefined;
  const containers = [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].map((c) => c.name);
  return { uid: m.uid, namespace: m.namespace, name: m.name, labels: { ...(m.labels ?? {}) }, annotations: { ...(m.annotations ?? {}) }, containers };
}

class Bounded<V> extends Map<string, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(k: string, v: V): this {
    super.delete(k);
    super.set(k, v);
    while (this.size > this.max) super.delete(this.keys().next().value!);
    return this;
  }
}

const LIST_TIMEOUT_MS = 30_000;

function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  return typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
}

export function watchNodePods(o: PodWatchOptions): NodePods {
  const kc = new KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else kc.loadFromDefault();
  const api = kc.makeApiClient(CoreV1Api);
  const watch = new Watch(kc);
  const fieldSelector = `spec.nodeName=${o.node}`;
  const log = o.log.child({ component: 'pods' });
  const known = new Bounded<PodInfo>(o.maxKnown);
  const stopping = new AbortController();
  const timeout = o.watchTimeoutSeconds ?? 300;

  const observe = (type: string, p: V1Pod) => {
    const info = podInfo(p);
    if (!info) return;
    if (type === 'DELETED') info.deletedAt = Date.now();
    known.set(info.uid, info);
    o.onChange?.();
  };

  async function relist(ns: string | undefined): Promise<string> {
    const present = new Set<string>();
    let cont: string | undefined;
    let rv = '';
    do {
      let timer: NodeJS.Timeout | undefined;
      const page = await Promise.race([
        ns === undefined
          ? api.listPodForAllNamespaces({ fieldSelector, limit: 500, ...(cont ? { _continue: cont } : {}) })
          : api.listNamespacedPod({ namespace: ns, fieldSelector, limit: 500, ...(cont ? { _continue: cont } : {}) }),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`pod list: no answer within ${LIST_TIMEOUT_MS} ms`)), LIST_TIMEOUT_MS))),
      ]).finally(() => clearTimeout(timer));
      for (const p of page.items) {
        observe('ADDED', p);
        if (p.metadata?.uid) present.add(p.metadata.uid);
      }
      cont = page.metadata?._continue || undefined;
      rv = page.metadata?.resourceVersion ?? '';
    } while (cont && !stopping.signal.aborted);
    // Deleted while no watch was open: still known (their last lines may be unread), marked deleted.
    for (const info of known.values()) if ((ns === undefined || info.namespace === ns) && !present.has(info.uid) && info.deletedAt === undefined) info.deletedAt = Date.now();
    log.info({ event: 'podsListed', node: o.node, namespace: ns ?? '*', pods: present.size, known: known.size, resourceVersion: rv }, 'pods of this node listed');
    return rv;
  }

  type End = { kind: 'closed' | 'gone'; rv: string; events: number } | { kind: 'failed'; err: Error; rv: string };
  function watchOnce(path: string, rv: string): Promise<End> {
    return new Promise((resolve) => {
      let lastRv = rv;
      let events = 0;
      let settled = false;
      let ctl: AbortController | undefined;
      const idleMs = (timeout + 90) * 1000;
      const finish = (end: End) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        stopping.signal.removeEventListener('abort', onStop);
        ctl?.abort();
        resolve(end);
      };
      // A connection that died without a FIN sends nothing, not even bookmarks: give up on it.
      let idle = setTimeout(() => finish({ kind: 'failed', err: new Error(`watch idle for ${idleMs} ms`), rv: lastRv }), idleMs);
      const onStop = () => finish({ kind: 'closed', rv: lastRv, events });
      stopping.signal.addEventListener('abort', onStop, { once: true });
      watch
        .watch(
          path,
          { fieldSelector, allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout + Math.floor(Math.random() * 60) },
          (type: string, obj: V1Pod & { code?: number; message?: string }) => {
            clearTimeout(idle);
            idle = setTimeout(() => finish({ kind: 'failed', err: new Error(`watch idle for ${idleMs} ms`), rv: lastRv }), idleMs);
            if (type === 'ERROR') {
              if (obj.code === 410) return finish({ kind: 'gone', rv: lastRv, events });
              return finish({ kind: 'failed', err: new Error(`watch error ${obj.code ?? '?'}: ${obj.message ?? ''}`), rv: lastRv });
            }
            if (obj.metadata?.resourceVersion) lastRv = obj.metadata.resourceVersion;
            if (type === 'BOOKMARK') return;
            events++;
            observe(type, obj);
          },
          (err: unknown) => {
            if (!err) return finish({ kind: 'closed', rv: lastRv, events });
            if (statusCode(err) === 410) return finish({ kind: 'gone', rv: lastRv, events });
            finish({ kind: 'failed', err: err as Error, rv: lastRv });
          },
        )
        .then((c) => {
          ctl = c;
          if (settled) c.abort();
        })
        .catch((err: unknown) => finish({ kind: 'failed', err: err as Error, rv: lastRv }));
    });
  }

  let listedAt: number | undefined;
  let onListed: () => void = () => undefined;
  const listed = new Promise<void>((r) => (onListed = () => {
    listedAt = Date.now();
    r();
  }));
  const scopes = o.namespaces.length === 0 ? [undefined] : [...new Set(o.namespaces)];
  let listedScopes = 0;

  const loop = async (ns: string | undefined) => {
    const path = ns === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`;
    let first = true;
    let rv: string | undefined;
    let attempt = 0;
    while (!stopping.signal.aborted) {
      try {
        if (rv === undefined) {
          rv = await relist(ns);
          if (first && ++listedScopes === scopes.length) onListed();
          first = false;
        }
        const opened = Date.now();
        const end = await watchOnce(path, rv);
        if (stopping.signal.aborted) return;
        if (end.kind === 'gone') {
          log.info({ event: 'podWatchExpired' }, 'resourceVersion expired (410 Gone): relisting');
          rv = undefined;
          continue;
        }
        rv = end.rv;
        if (end.kind === 'failed') throw end.err;
        if (end.events === 0 && Date.now() - opened < 1000) throw new Error('watch closed at once');
        attempt = 0;
      } catch (err) {
        if (stopping.signal.aborted) return;
        const ms = backoffMs(o.retry, attempt++);
        log.warn({ event: 'podWatchError', namespace: ns ?? '*', status: statusCode(err), err: (err as Error).message, retryInMs: ms }, 'pod watch failed, retrying');
        if (attempt % 5 === 0) rv = undefined;
        await sleep(ms, stopping.signal).catch(() => undefined);
      }
    }
  };
  for (const ns of scopes) void loop(ns);

  return {
    get: (uid) => known.get(uid),
    listedAt: () => listedAt,
    get size() {
      return known.size;
    },
    listed,
    stop: () => stopping.abort(),
  };
}
