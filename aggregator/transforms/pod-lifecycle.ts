// A pod object (as the Kubernetes API serves it, in a list or a watch event)
// -> the executor's 'lifecycle' document: exit code, reason, start and finish
// of its main container. Pure: the watcher (sources/kubernetes.ts) and the
// local demo's "kubelet" both call it, so a pod gets one document shape.
//
// Identity: the pod's collector sidecar already carries it as env variables
// (Downward API fieldRefs to the pod's labels, name, uid, node). Resolving
// those against the pod object and running the collector's own resolver
// gives exactly the key the collector stamps on the pod's lines, for Spark,
// Flink and Flume alike, with no second set of label rules to drift.
// A pod without a sidecar (node mode: one collector per node) is identified
// from its labels by the node collector's own rules (collector/node/pod-identity.ts),
// when the watcher is told so (byLabels).
import { resolveIdentity, type BaseIdentity } from '../../collector/identity.js';
import { podVerdict } from '../../collector/node/pod-identity.js';
import { APP_TYPES, kafkaKey, summaryId, type AppType, type ExecutorDoc, type Names } from '../../contract/index.js';
import type { SummaryItem } from './to-documents.js';

/** Times arrive as RFC 3339 strings on the wire and as Dates from the typed client. */
type Time = string | Date;

export interface PodEnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath?: string } } & Record<string, unknown>;
}

export interface PodContainer {
  name: string;
  env?: PodEnvVar[];
}

export interface ContainerState {
  running?: { startedAt?: Time };
  terminated?: { exitCode?: number; reason?: string; startedAt?: Time; finishedAt?: Time };
  waiting?: { reason?: string };
}

export interface ContainerStatus {
  name: string;
  state?: ContainerState;
  lastState?: ContainerState;
}

export interface Pod {
  metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: Time; deletionGracePeriodSeconds?: number };
  spec?: { nodeName?: string; restartPolicy?: string; containers?: PodContainer[]; initContainers?: PodContainer[] };
  status?: { phase?: string; reason?: string; startTime?: Time; containerStatuses?: ContainerStatus[] };
}

/** What a pod is to sparklogs: whose lines its collector ships, and which container is the app. */
export interface PodIdentity {
  identity: BaseIdentity;
  /** The app's container (SPARKLOGS_CONTAINER, else the first container that is not the collector). */
  container: string;
}

const ENV: Record<string, keyof Omit<Parameters<typeof resolveIdentity>[0], 'appType'>> = {
  SPARKLOGS_APP_ID: 'appId',
  SPARKLOGS_EXECUTOR_ID: 'executorId',
  SPARKLOGS_ROLE: 'role',
  SPARKLOGS_APP_NAME: 'appName',
  SPARKLOGS_NAMESPACE: 'namespace',
  SPARKLOGS_POD_NAME: 'pod',
  SPARKLOGS_POD_UID: 'podUid',
  SPARKLOGS_NODE_NAME: 'node',
  SPARKLOGS_CONTAINER: 'container',
};

const isCollector = (c: PodContainer) => (c.env ?? []).some((e) => e.name === 'SPARKLOGS_APP_TYPE' || e.name === 'SPARKLOGS_APP_ID');

/** The Downward API fields a pod template can give the collector (the subset that identifies a pod). */
function fieldRef(pod: Pod, path: string): string | undefined {
  const m = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path);
  if (m) return pod.metadata?.[m[1] as 'labels' | 'annotations']?.[m[2]!];
  switch (path) {
    case 'metadata.name': return pod.metadata?.name;
    case 'metadata.namespace': return pod.metadata?.namespace;
    case 'metadata.uid': return pod.metadata?.uid;
    case 'spec.nodeName': return pod.spec?.nodeName;
    default: return undefined;
  }
}

export class PodIdentityError extends Error {
  readonly code = 'POD_IDENTITY_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PodIdentityError';
  }
}

/**
 * undefined: the pod has no sparklogs collector (not ours). Throws
 * PodIdentityError when it has one whose identity cannot be resolved here
 * (an env value from a ConfigMap or Secret, a missing label).
 */
export function podIdentity(pod: Pod, byLabels = false): PodIdentity | undefined {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const collector = all.find(isCollector);
  const where = `pod ${pod.metadata?.namespace ?? '?'}/${pod.metadata?.name ?? '?'}`;
  if (!collector) return byLabels ? labelledIdentity(pod, where) : undefined;
  const env: Record<string, string | undefined> = {};
  for (const e of collector.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath) env[e.name] = fieldRef(pod, e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom && (e.name === 'SPARKLOGS_APP_TYPE' || e.name in ENV)) {
      throw new PodIdentityError(`${where}: ${e.name} of container ${collector.name} comes from a source the watcher cannot read (only value and fieldRef are resolved)`);
    }
  }
  const appType = (env.SPARKLOGS_APP_TYPE || 'spark') as AppType;
  if (!APP_TYPES.includes(appType)) throw new PodIdentityError(`${where}: SPARKLOGS_APP_TYPE: expected one of ${APP_TYPES.join(', ')}, got ${JSON.stringify(appType)}`);
  const cfg: Parameters<typeof resolveIdentity>[0] = { appType };
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') cfg[key] = v;
  }
  let identity: BaseIdentity;
  try {
    identity = resolveIdentity(cfg, env);
  } catch (err) {
    throw new PodIdentityError(`${where}: ${(err as Error).message}`, { cause: err });
  }
  const container = identity.container ?? (pod.spec?.containers ?? []).find((c) => c !== collector)?.name;
  if (!container) throw new PodIdentityError(`${where}: no app container besides the collector`);
  return { identity, container };
}

/**
 * Node mode: the identity the node collector gives the lines of the pod's app
 * container (its first container), from the pod's labels and annotations.
 * undefined: the node collector leaves the pod out too.
 */
function labelledIdentity(pod: Pod, where: string): PodIdentity | undefined {
  const m = pod.metadata;
  const container = pod.spec?.containers?.[0]?.name;
  if (!m?.uid || !m.name || !m.namespace || !container) return undefined;
  const info = {
    uid: m.uid, namespace: m.namespace, name: m.name, labels: m.labels ?? {}, annotations: m.annotations ?? {},
    containers: [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name),
  };
  let verdict;
  try {
    verdict = podVerdict(info, pod.spec?.nodeName ?? '', container);
  } catch (err) {
    throw new PodIdentityError(`${where}: ${(err as Error).message}`, { cause: err });
  }
  return verdict.collect ? { identity: verdict.identity, container } : undefined;
}

/** When the pod's deletion was asked for: its deletionTimestamp is that moment plus the grace period. */
export function deletionRequestedAt(pod: Pod): number | undefined {
  const deadline = ms(pod.metadata?.deletionTimestamp);
  if (deadline === undefined) return undefined;
  return deadline - (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000;
}

const ms = (t: Time | undefined) => {
  if (t === undefined) return undefined;
  const v = new Date(t).getTime();
  return Number.isFinite(v) ? v : undefined;
};

/** Waiting reasons of a container on its way to start. */
const STARTING = new Set(['ContainerCreating', 'PodInitializing']);

export interface LifecycleOptions {
  /** The pod is gone (a DELETED watch event, or absent from a relist). */
  deleted: boolean;
  /** When the watcher saw it: the finish time of a pod deleted before its container reported one. */
  observedAt: number;
  /**
   * The earliest deletion request seen for this pod. Once its containers have
   * ended the kubelet removes it with grace 0, which moves deletionTimestamp
   * to that moment: the last version alone makes a pod stopped by its
   * deletion look as if it had failed before it (found on the real cluster:
   * a deleted Flink TaskManager, exit 143, showed failed).
   */
  deletionRequestedAt?: number;
  /** Pods without a collector sidecar are identified from their labels (node mode). */
  byLabels?: boolean;
}

/**
 * The lifecycle facts of the pod's app container, or undefined while they
 * are not final: the container still runs (or waits), or it ended but the
 * pod restarts it (restartPolicy Always: a Deployment such as a Flume agent).
 */
export function lifecycleDoc(pod: Pod, o: LifecycleOptions): ExecutorDoc | undefined {
  const who = podIdentity(pod, o.byLabels);
  if (!who) return undefined;
  const status = pod.status?.containerStatuses?.find((s) => s.name === who.container);
  const restarts = (pod.spec?.restartPolicy ?? 'Always') === 'Always';
  let term = status?.state?.terminated;
  if (term && restarts && !o.deleted) return undefined;
  // Deleted in a crash loop (waiting to restart): its last exit is its end. Deleted while running: it has none.
  if (!term && o.deleted && restarts && status?.state?.waiting) term = status.lastState?.terminated;
  if (!term && !o.deleted) return undefined;

  const { identity: id } = who;
  const doc: ExecutorDoc = { kind: 'lifecycle', appType: id.appType, appId: id.appId, executorId: id.executorId, role: id.role };
  for (const f of ['appName', 'namespace', 'pod', 'podUid', 'node'] as const) if (id[f] !== undefined) doc[f] = id[f];
  doc.container = who.container;
  // Identity from the pod itself when the template did not pass it to the collector.
  doc.namespace ??= pod.metadata?.namespace;
  doc.pod ??= pod.metadata?.name;
  doc.podUid ??= pod.metadata?.uid;
  doc.node ??= pod.spec?.nodeName;
  for (const f of ['namespace', 'pod', 'podUid', 'node'] as const) if (doc[f] === undefined) delete doc[f];

  if (term) {
    if (term.exitCode !== undefined) doc.exitCode = term.exitCode;
    // The pod's own reason (Evicted, DeadlineExceeded) says more than the container's generic Error.
    const reason = term.reason && term.reason !== 'Error' ? term.reason : pod.status?.reason ?? term.reason ?? (term.exitCode === 0 ? 'Completed' : 'Error');
    // Stopped because its pod was deleted (Spark's driver removing an idle
    // executor or ending the app, kubectl delete): not a failure, whatever
    // its exit code (found on the real cluster: such executors showed as
    // failed with exit 143). A container that ended before the deletion keeps its reason.
    const asked = deletionRequestedAt(pod);
    const requested = o.deletionRequestedAt === undefined ? asked : Math.min(o.deletionRequestedAt, asked ?? Infinity);
    const finished = ms(term.finishedAt);
    const byDeletion = requested !== undefined && finished !== undefined && finished >= requested && (reason === 'Error' || reason === 'Completed');
    doc.reason = byDeletion ? 'Deleted' : reason;
    const started = ms(term.startedAt) ?? ms(pod.status?.startTime);
    if (started !== undefined) doc.startedAt = started;
    doc.finishedAt = ms(term.finishedAt) ?? ms(pod.metadata?.deletionTimestamp) ?? o.observedAt;
  } else {
    // Deleted before its container reported an end (a forced delete, a lost node): no exit code to tell.
    // A container still starting says nothing of the end (found on the real cluster: Flink deletes a
    // TaskManager pod it asked for before it starts, which showed as unknown, PodInitializing);
    // one that could not start (ImagePullBackOff, CrashLoopBackOff) says why.
    const waiting = status?.state?.waiting?.reason;
    doc.reason = (waiting && !STARTING.has(waiting) ? waiting : undefined) ?? pod.status?.reason ?? 'Deleted';
    const started = ms(status?.state?.running?.startedAt) ?? ms(pod.status?.startTime);
    if (started !== undefined) doc.startedAt = started;
    doc.finishedAt = ms(pod.metadata?.deletionTimestamp) ?? o.observedAt;
  }
  return doc;
}

/**
 * The write of a lifecycle document: external version = observation time,
 * so a later observation of the pod (its deletion after its exit) wins and a
 * replayed older one cannot, exactly like the 'last' summary documents.
 */
export function lifecycleItem(n: Names, doc: ExecutorDoc, observedAt: number): SummaryItem {
  return { index: n.executorsIndex, id: summaryId(kafkaKey(doc), 'lifecycle'), doc, version: Math.floor(observedAt) };
}
