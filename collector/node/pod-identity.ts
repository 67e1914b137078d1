import type { AppType } from '../../contract/identity.js';
import { APP_TYPES } from '../../contract/identity.js';
import { compileLayout } from '../../contract/pattern-layout.js';
import { resolveIdentity, type BaseIdentity } from '../identity.js';
import type { PodInfo } from './pods.js';

// A pod's identity in node mode: the same keys the sidecar derives from the
// Downward API (identity.ts), read here from the pod's labels and
// annotations as the API reports them.
//
//   spark   label spark-app-selector; spark-exec-id, spark-role, spark-app-name
//   flink   label type=flink-native-kubernetes; app (cluster id), component (role)
//   other   annotation sparklogs.dev/app-type (flume, generic, or any of the above);
//           flume: app id from label app.kubernetes.io/name, executor = pod name
// Annotations sparklogs.dev/app-id, sparklogs.dev/executor-id, sparklogs.dev/role
// override, sparklogs.dev/log-pattern is the app's own layout (as for the
// sidecar), sparklogs.dev/collect: "false" leaves a pod out. A pod with a
// sparklogs-collector container already has its sidecar: left out.

export const ANNOTATION = 'sparklogs.dev/';
export const SIDECAR_CONTAINER = 'sparklogs-collector';

export type Verdict = { collect: true; identity: BaseIdentity } | { collect: false; why: string };

const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

function appTypeOf(p: PodInfo): AppType | undefined {
  const asked = nonEmpty(p.annotations[`${ANNOTATION}app-type`]);
  if (asked !== undefined) return (APP_TYPES as readonly string[]).includes(asked) ? (asked as AppType) : undefined;
  if (nonEmpty(p.labels['spark-app-selector'])) return 'spark';
  if (p.labels.type === 'flink-native-kubernetes' && nonEmpty(p.labels.app)) return 'flink';
  return undefined;
}

/** Whether and as what the node collector ships the logs of one container of a pod. */
export function podVerdict(p: PodInfo, node: string, container: string): Verdict {
  if (p.annotations[`${ANNOTATION}collect`] === 'false') return { collect: false, why: `annotation ${ANNOTATION}collect is "false"` };
  if (p.containers.includes(SIDECAR_CONTAINER)) return { collect: false, why: `the pod has its own ${SIDECAR_CONTAINER} sidecar` };
  const appType = appTypeOf(p);
  if (appType === undefined) {
    const asked = p.annotations[`${ANNOTATION}app-type`];
    return {
      collect: false,
      why: asked ? `annotation ${ANNOTATION}app-type: expected one of ${APP_TYPES.join(', ')}, got ${JSON.stringify(asked)}` : `no Spark or Flink labels and no ${ANNOTATION}app-type annotation`,
    };
  }
  const l = p.labels;
  const a = (k: string) => nonEmpty(p.annotations[`${ANNOTATION}${k}`]);
  const byType: Record<AppType, { appId?: string; executorId?: string; role?: string; appName?: string }> = {
    spark: { appId: nonEmpty(l['spark-app-selector']), executorId: nonEmpty(l['spark-exec-id']), role: nonEmpty(l['spark-role']), appName: nonEmpty(l['spark-app-name']) },
    flink: { appId: nonEmpty(l.app), role: nonEmpty(l.component) },
    flume: { appId: nonEmpty(l['app.kubernetes.io/name']), executorId: p.name },
    generic: { executorId: p.name },
  };
  const base = byType[appType];
  const pattern = a('log-pattern');
  if (pattern !== undefined) compileLayout(pattern); // throws PatternError: the caller logs it
  const fields = {
    appType,
    appId: a('app-id') ?? base.appId,
    executorId: a('executor-id') ?? base.executorId,
    role: a('role') ?? base.role,
    appName: base.appName,
    namespace: p.namespace,
    pod: p.name,
    podUid: p.uid,
    node,
    container,
    logPattern: pattern,
  };
  return { collect: true, identity: resolveIdentity(fields, {}) };
}

/**
 * The identity a log directory's name gives when the API never described the
 * pod (it was gone before the collector saw it): app type generic, the
 * namespace as app, the pod as executor.
 */
export function directoryIdentity(d: { namespace: string; pod: string; uid: string }, node: string, container: string): BaseIdentity {
  return resolveIdentity({ appType: 'generic', appId: d.namespace, executorId: d.pod, role: 'main', namespace: d.namespace, pod: d.pod, podUid: d.uid, node, container, appName: undefined }, {});
}
