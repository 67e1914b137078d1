// The pod watcher: lists and watches the pods of the watched namespaces
// through the Kubernetes API (the one file that imports its client) and
// stores each collected pod's end as the executor's 'lifecycle' document
// (transforms/pod-lifecycle.ts): exit code, reason such as OOMKilled, start
// and finish. The query API shows them and ends a follow once every executor
// has finished.
//
// Failures it is built for: a watch that breaks or is closed by the server
// (re-watched from the last resourceVersion), a resourceVersion the server no
// longer has (410 Gone: relist), an API server that is down (bounded
// backoff), pods deleted while no watch was open (a relist misses a pod it
// knew: it ended then), Elasticsearch down (documents wait, newest per
// executor, in a bounded queue).
//
// Every pod is watched, not a label selection: Spark, Flink and Flume pods
// share no label (selectors cannot OR), and whether a pod is ours is decided
// by its collector sidecar, the same place its identity comes from.
import { CoordinationV1Api, CoreV1Api, KubeConfig, V1MicroTime, Watch, type V1Lease, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../contract/log.js';
import type { Names } from '../../contract/names.js';
import { BoundedMap, runListWatch, statusCode, within } from '../../contract/list-watch.js';
import { backoffMs, sleep, type RetryPolicy } from '../../contract/retry.js';
import type { BulkItem, EsSink } from '../sinks/elasticsearch.js';
import { deletionRequestedAt, lifecycleDoc, lifecycleItem, podIdentity, PodIdentityError, type Pod } from '../transforms/pod-lifecycle.js';

export interface PodWatcherOptions {
  /** Empty: every namespace (needs a ClusterRoleBinding). */
  namespaces: readonly string[];
  sink: Pick<EsSink, 'bulk'>;
  names: Names;
  log: Logger;
  retry: RetryPolicy;
  /** Default: KUBECONFIG, ~/.kube/config, else the in-cluster service account. */
  kubeConfig?: KubeConfig;
  /** Pods per list page: bounds memory on a large namespace. */
  pageSize?: number;
  /** Also pods without a collector sidecar, identified from their labels (node mode). */
  byLabels?: boolean;
  /** The server closes a watch after this long (plus jitter); it is then re-opened. */
  watchTimeoutSeconds?: number;
  /** Pods tracked at once (alive and ours): bounds memory. */
  maxTracked?: number;
  /** Lifecycle documents waiting for Elasticsearch at most (the newest per executor is kept). */
  maxPending?: number;
  bulkSize?: number;
  /** On stop, documents still waiting are given this long to be stored. */
  flushTimeoutMs?: number;
  now?: () => number;
  /**
   * What a watcher knew (pods alive, documents written), handed to the next
   * watcher of the same replica: its first list then records the end of a pod
   * deleted while none watched (the Lease lost during an API server outage).
   */
  memory?: WatchMemory;
}

export interface WatchMemory {
  live: Map<string, { scope: string; pod: Pod; deletionRequestedAt?: number }>;
  seen: Map<string, string>;
}

export function newWatchMemory(maxTracked = 20_000): WatchMemory {
  return { live: new BoundedMap(maxTracked), seen: new BoundedMap(maxTracked) };
}

export interface PodWatcher {
  /** Resolves once every watched scope has been listed once (tests, metrics). */
  readonly listed: Promise<void>;
  stop(): Promise<void>;
}

/** What a relist needs of a pod it no longer sees: the fields the transform reads. */
function slim(p: Pod): Pod {
  const m = p.metadata ?? {};
  return {
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, labels: m.labels, annotations: m.annotations, deletionTimestamp: m.deletionTimestamp, deletionGracePeriodSeconds: m.deletionGracePeriodSeconds },
    spec: p.spec && { nodeName: p.spec.nodeName, restartPolicy: p.spec.restartPolicy, containers: p.spec.containers?.map((c) => ({ name: c.name, env: c.env })), initContainers: p.spec.initContainers?.map((c) => ({ name: c.name, env: c.env })) },
    status: p.status && { phase: p.status.phase, reason: p.status.reason, startTime: p.status.startTime, containerStatuses: p.status.containerStatuses },
  };
}


// The generated client sets no request timeout: an API server that accepts and never answers must not stall the watcher.
const LIST_TIMEOUT_MS = 60_000;

export function startPodWatcher(o: PodWatcherOptions): PodWatcher {
  const kc = o.kubeConfig ?? new KubeConfig();
  if (!o.kubeConfig) kc.loadFromDefault();
  const api = kc.makeApiClient(CoreV1Api);
  const watch = new Watch(kc);
  const now = o.now ?? Date.now;
  const pageSize = o.pageSize ?? 500;
  const watchTimeout = o.watchTimeoutSeconds ?? 300;
  const bulkSize = o.bulkSize ?? 500;
  const log = o.log.child({ component: 'pods' });
  const stopping = new AbortController();

  const memory = o.memory ?? newWatchMemory(o.maxTracked);
  // uid -> the pod as last seen, while it lives (a relist that misses it knows it ended unseen).
  const live = memory.live;
  // uid -> the last document queued for it (or the identity error logged): no rewrite of unchanged facts.
  const seen = memory.seen;
  const pending = new BoundedMap<BulkItem>(o.maxPending ?? 10_000);
  let wake: () => void = () => undefined;

  function observe(scope: string, type: string, pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const deleted = type === 'DELETED';
    const at = now();
    let doc;
    const prev = live.get(uid)?.deletionRequestedAt;
    const asked = deletionRequestedAt(pod);
    const requested = prev === undefined ? asked : asked === undefined ? prev : Math.min(prev, asked);
    try {
      if (!podIdentity(pod, o.byLabels)) return;
      doc = lifecycleDoc(pod, { deleted, observedAt: at, byLabels: o.byLabels, ...(requested !== undefined ? { deletionRequestedAt: requested } : {}) });
    } catch (err) {
      if (!(err instanceof PodIdentityError)) throw err;
      if (seen.get(uid) !== err.message) log.warn({ event: 'podIdentityUnresolved', uid, err: err.message }, 'pod lifecycle skipped: identity unresolved');
      seen.set(uid, err.message);
      return;
    }
    if (deleted) live.delete(uid);
    else live.set(uid, { scope, pod: slim(pod), ...(requested !== undefined ? { deletionRequestedAt: requested } : {}) });
    if (!doc) return;
    const key = JSON.stringify(doc);
    if (seen.get(uid) !== key) {
      seen.set(uid, key);
      const item = lifecycleItem(o.names, doc, at);
      pending.set(item.id, item);
      log.info({ event: 'podEnded', pod: doc.pod, namespace: doc.namespace, appId: doc.appId, executorId: doc.executorId, exitCode: doc.exitCode, reason: doc.reason }, 'pod ended');
      wake();
    }
    if (deleted) seen.delete(uid);
  }

  function onListed(ns: string | undefined, present: Set<string>, rv: string): void {
    const scope = ns ?? '*';
    // Pods this watcher knew alive that are gone now: deleted while no watch was open.
    let vanished = 0;
    for (const [uid, { scope: s, pod }] of [...live]) {
      if (s !== scope || present.has(uid)) continue;
      vanished++;
      observe(scope, 'DELETED', pod);
    }
    log.info({ event: 'podsListed', scope, pods: present.size, vanished, resourceVersion: rv }, 'pods listed');
  }

  const scopes = o.namespaces.length === 0 ? [undefined] : [...new Set(o.namespaces)];
  const watching = runListWatch<V1Pod>({
    scopes,
    list: (ns, cont) =>
      ns === undefined
        ? api.listPodForAllNamespaces({ limit: pageSize, ...(cont ? { _continue: cont } : {}) })
        : api.listNamespacedPod({ namespace: ns, limit: pageSize, ...(cont ? { _continue: cont } : {}) }),
    watch: (path, query, onEvent, onDone) => watch.watch(path, query, onEvent, onDone),
    watchTimeoutSeconds: watchTimeout,
    listTimeoutMs: LIST_TIMEOUT_MS,
    retry: o.retry,
    log,
    signal: stopping.signal,
    now,
    onObject: (ns, type, pod) => observe(ns ?? '*', type, pod as Pod),
    onListed,
  });

  async function writer(): Promise<void> {
    let attempt = 0;
    let reportedDrops = 0;
    for (;;) {
      if (pending.dropped > reportedDrops) {
        log.error({ event: 'lifecycleDropped', count: pending.dropped - reportedDrops }, 'lifecycle documents dropped: the queue is full while Elasticsearch is unavailable');
        reportedDrops = pending.dropped;
      }
      if (pending.size === 0) {
        if (stopping.signal.aborted) return;
        await new Promise<void>((r) => {
          wake = r;
          stopping.signal.addEventListener('abort', () => r(), { once: true });
        });
        wake = () => undefined;
        continue;
      }
      const batch = [...pending.values()].slice(0, bulkSize);
      for (const it of batch) pending.delete(it.id);
      // An item queued again meanwhile (a newer observation) replaces a retried one.
      const requeue = (it: BulkItem) => {
        if (!pending.has(it.id)) pending.set(it.id, it);
      };
      try {
        const outcomes = await o.sink.bulk(batch);
        let retry = false;
        outcomes.forEach((r, i) => {
          const it = batch[i]!;
          if (r.status === 'retry') {
            retry = true;
            requeue(it);
          } else if (r.status === 'reject') {
            log.error({ event: 'lifecycleRejected', id: it.id, httpStatus: r.httpStatus, reason: r.reason }, 'lifecycle document refused by Elasticsearch');
          }
        });
        if (!retry) {
          attempt = 0;
          continue;
        }
      } catch (err) {
        batch.forEach(requeue);
        log.warn({ event: 'lifecycleStoreError', err: (err as Error).message, pending: pending.size }, 'lifecycle documents not stored yet');
      }
      if (stopping.signal.aborted) return;
      await sleep(backoffMs(o.retry, attempt++), stopping.signal);
    }
  }

  log.info({ event: 'podWatchStarted', namespaces: o.namespaces.length ? o.namespaces : 'all', server: kc.getCurrentCluster()?.server }, 'watching pods');
  const written = writer();

  return {
    listed: watching.firstListed,
    async stop() {
      stopping.abort();
      await watching.ended;
      await written;
      // What the watch saw last is worth one more attempt, within the deadline.
      if (pending.size === 0) return;
      const rest = [...pending.values()];
      pending.clear();
      let stored = 0;
      const flush = (async () => {
        for (let i = 0; i < rest.length; i += bulkSize) {
          const outcomes = await o.sink.bulk(rest.slice(i, i + bulkSize)).catch(() => []);
          stored += outcomes.filter((r) => r.status === 'ok').length;
        }
      })();
      await Promise.race([flush, sleep(o.flushTimeoutMs ?? 5000)]);
      if (stored < rest.length) log.warn({ event: 'lifecycleUnstored', count: rest.length - stored }, 'lifecycle documents not stored before shutdown');
    },
  };
}

export interface LeaseOptions {
  namespace: string;
  name: string;
  /** This replica, as the Lease's holderIdentity. */
  identity: string;
  /** A holder that has not renewed for this long has lost it. */
  durationSeconds?: number;
  /** How often the holder renews, and a follower tries. */
  retryMs?: number;
}

/**
 * One replica watches at a time: the holder of a Kubernetes Lease (the
 * pattern of client-go's leader election). Two watching replicas would write
 * each pod's end twice; a replica that is deleted hands the Lease over on its
 * way out, one that is killed loses it after durationSeconds. The watch runs
 * while this replica holds the Lease and stops (its documents flushed) when
 * it stops renewing in time.
 */
export function startLeasedPodWatcher(o: PodWatcherOptions, l: LeaseOptions): PodWatcher {
  const kc = o.kubeConfig ?? new KubeConfig();
  if (!o.kubeConfig) kc.loadFromDefault();
  const api = kc.makeApiClient(CoordinationV1Api);
  const log = o.log.child({ component: 'lease', lease: `${l.namespace}/${l.name}`, identity: l.identity });
  const duration = l.durationSeconds ?? 15;
  const retryMs = l.retryMs ?? 2000;
  // Renewals that failed for this long mean another replica may take over: stop watching first.
  const renewDeadlineMs = (duration * 1000 * 2) / 3;
  // One Lease request may take no longer than that: a request left hanging by an API server outage would
  // otherwise hold the next renewal back long after the server answers again.
  const callMs = Math.max(5000, renewDeadlineMs);
  const now = o.now ?? Date.now;
  const stopping = new AbortController();
  let watcher: PodWatcher | undefined;
  let lastRenew = 0;
  // One memory for every watcher this replica runs (see PodWatcherOptions.memory).
  const memory = o.memory ?? newWatchMemory(o.maxTracked);
  // Another holder's Lease as this replica last saw it change, on this replica's clock.
  let observed: { key: string; at: number } | undefined;
  // This replica's last Lease read failed: it could not see the holder renew meanwhile.
  let blind = false;
  let onListed: () => void = () => undefined;
  const listed = new Promise<void>((r) => (onListed = r));

  const spec = (lease: V1Lease | undefined, acquire: boolean): V1Lease => {
    // Lease times are MicroTime: the API server refuses a Date's millisecond form (found on the real cluster).
    const t = new V1MicroTime(now());
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: l.name, namespace: l.namespace, ...(lease?.metadata?.resourceVersion ? { resourceVersion: lease.metadata.resourceVersion } : {}) },
      spec: {
        holderIdentity: l.identity,
        leaseDurationSeconds: duration,
        acquireTime: acquire || !lease?.spec?.acquireTime ? t : new V1MicroTime(new Date(lease.spec.acquireTime).getTime()),
        renewTime: t,
        leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (acquire && lease ? 1 : 0),
      },
    } as V1Lease;
  };

  /** true: this replica holds the Lease now. Conflicts (409) mean another replica got there first. */
  async function tryHold(): Promise<boolean> {
    let lease: V1Lease | undefined;
    try {
      lease = await within(api.readNamespacedLease({ name: l.name, namespace: l.namespace }), callMs, 'lease', stopping.signal);
    } catch (err) {
      if (statusCode(err) !== 404) {
        blind = true;
        throw err;
      }
    }
    const sawAgain = blind;
    blind = false;
    if (!lease) {
      await within(api.createNamespacedLease({ namespace: l.namespace, body: spec(undefined, true) }), callMs, 'lease', stopping.signal);
      return true;
    }
    const holder = lease.spec?.holderIdentity ?? '';
    // Expired only once this replica has seen it unchanged for its duration (client-go's rule), counting only
    // while it could see it: after an outage (or while the kubernetes Service is not routed yet) every Lease looks
    // expired by its renewTime, and a replica that was cut off starts counting again. So the holder, which renews
    // as soon as it reaches the server, keeps the Lease and the memory of the pods it watched; a follower that
    // took it at once would relist without knowing the pods deleted while nobody watched, and miss their ends
    // (found on the real cluster: K7 failed in CI when the follower's retry came first).
    const key = `${holder}|${lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0}`;
    if (observed?.key !== key || sawAgain) observed = { key, at: now() };
    const expired = observed.at + (lease.spec?.leaseDurationSeconds ?? duration) * 1000 < now();
    if (holder !== l.identity && holder !== '' && !expired) return false;
    await within(api.replaceNamespacedLease({ name: l.name, namespace: l.namespace, body: spec(lease, holder !== l.identity) }), callMs, 'lease', stopping.signal);
    return true;
  }

  async function lose(why: string): Promise<void> {
    if (!watcher) return;
    log.warn({ event: 'leaseLost', why }, 'lease lost: watching stops');
    const w = watcher;
    watcher = undefined;
    await w.stop();
  }

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        if (await tryHold()) {
          lastRenew = now();
          if (!watcher) {
            log.info({ event: 'leaseAcquired' }, 'lease acquired: watching pods');
            watcher = startPodWatcher({ ...o, kubeConfig: kc, memory });
            void watcher.listed.then(onListed);
          }
        } else {
          await lose('held by another replica');
        }
      } catch (err) {
        const code = statusCode(err);
        if (code !== 409) log.warn({ event: 'leaseError', status: code, err: (err as Error).message }, 'lease not renewed');
        if (watcher && now() - lastRenew > renewDeadlineMs) await lose(`not renewed for ${renewDeadlineMs} ms`);
      }
      await sleep(retryMs, stopping.signal);
    }
  })();

  return {
    listed,
    async stop() {
      stopping.abort();
      await loop;
      if (!watcher) return;
      await watcher.stop();
      watcher = undefined;
      // Hand the Lease over now rather than after its duration: the next replica watches at once.
      try {
        const lease = await within(api.readNamespacedLease({ name: l.name, namespace: l.namespace }), 5000, 'lease');
        if (lease.spec?.holderIdentity === l.identity) {
          const body = spec(lease, false);
          body.spec!.holderIdentity = '';
          body.spec!.leaseDurationSeconds = 1;
          await within(api.replaceNamespacedLease({ name: l.name, namespace: l.namespace, body }), 5000, 'lease');
          log.info({ event: 'leaseReleased' }, 'lease released');
        }
      } catch (err) {
        log.warn({ event: 'leaseReleaseError', err: (err as Error).message }, 'lease not released: another replica takes it when it expires');
      }
    },
  };
}
