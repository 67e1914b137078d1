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
import { BoundedMap, runListWatch } from '../../contract/list-watch.js';
import type { RetryPolicy } from '../../contract/retry.js';

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


const LIST_TIMEOUT_MS = 30_000;

export function watchNodePods(o: PodWatchOptions): NodePods {
  const kc = new KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else kc.loadFromDefault();
  const api = kc.makeApiClient(CoreV1Api);
  const watch = new Watch(kc);
  const fieldSelector = `spec.nodeName=${o.node}`;
  const log = o.log.child({ component: 'pods' });
  const known = new BoundedMap<PodInfo>(o.maxKnown);
  const stopping = new AbortController();
  const timeout = o.watchTimeoutSeconds ?? 300;

  const observe = (type: string, p: V1Pod) => {
    const info = podInfo(p);
    if (!info) return;
    if (type === 'DELETED') info.deletedAt = Date.now();
    known.set(info.uid, info);
    o.onChange?.();
  };

  let listedAt: number | undefined;
  const scopes = o.namespaces.length === 0 ? [undefined] : [...new Set(o.namespaces)];
  const watching = runListWatch<V1Pod>({
    scopes,
    list: (ns, cont) =>
      ns === undefined
        ? api.listPodForAllNamespaces({ fieldSelector, limit: 500, ...(cont ? { _continue: cont } : {}) })
        : api.listNamespacedPod({ namespace: ns, fieldSelector, limit: 500, ...(cont ? { _continue: cont } : {}) }),
    watch: (path, query, onEvent, onDone) => watch.watch(path, query, onEvent, onDone),
    query: { fieldSelector },
    watchTimeoutSeconds: timeout,
    listTimeoutMs: LIST_TIMEOUT_MS,
    retry: o.retry,
    log,
    signal: stopping.signal,
    onObject: (_ns, type, p) => observe(type, p),
    onListed: (ns, present, rv) => {
      // Deleted while no watch was open: still known (their last lines may be unread), marked deleted.
      for (const info of known.values()) if ((ns === undefined || info.namespace === ns) && !present.has(info.uid) && info.deletedAt === undefined) info.deletedAt = Date.now();
      log.info({ event: 'podsListed', node: o.node, scope: ns ?? '*', pods: present.size, known: known.size, resourceVersion: rv }, 'pods of this node listed');
    },
  });
  const listed = watching.firstListed.then(() => {
    listedAt = Date.now();
  });

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
