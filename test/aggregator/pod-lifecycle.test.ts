// Pod objects -> lifecycle documents. The pods are the repository's own pod
// templates (deploy/spark, deploy/flink, deploy/flume) filled in the way
// Spark, Flink and the kubelet fill them, so a template whose identity the
// watcher could not resolve fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { names } from '../../contract/names.js';
import { VERSION_HORIZON } from '../../contract/documents.js';
import { lifecycleDoc, lifecycleItem, podIdentity, PodIdentityError, type Pod } from '../../aggregator/transforms/pod-lifecycle.js';

const template = (path: string) => parse(readFileSync(new URL(`../../deploy/${path}`, import.meta.url), 'utf8')) as Pod & { spec: { template?: { metadata: Pod['metadata']; spec: Pod['spec'] } } };
const NOW = Date.parse('2026-11-21T09:47:00Z');

/** A Spark pod the way Spark's submission client creates it from the template, then the kubelet's status. */
function sparkPod(o: { executorId?: string; main: string; status: Pod['status']; deletionTimestamp?: string; grace?: number }): Pod {
  const t = template(o.executorId ? 'spark/executor-pod-template.yaml' : 'spark/driver-pod-template.yaml');
  const labels: Record<string, string> = {
    ...t.metadata?.labels,
    'spark-app-selector': 'spark-ca230a70a8c27467a0c9de7ed936ff16',
    'spark-app-name': 'etl-daily',
    'spark-role': o.executorId ? 'executor' : 'driver',
    'spark-version': '3.5.3',
  };
  if (o.executorId) Object.assign(labels, { 'spark-exec-id': o.executorId, 'spark-exec-resourceprofile-id': '0' });
  const name = o.executorId ? `etl-daily-7f3c2a9b1e-exec-${o.executorId}` : 'etl-daily-7f3c2a9b1e-driver';
  return {
    metadata: { name, namespace: 'spark-jobs', uid: `0b7c6a1e-4d2f-4f6a-9d51-00000000000${o.executorId ?? 0}`, labels, ...(o.deletionTimestamp ? { deletionTimestamp: o.deletionTimestamp } : {}), ...(o.grace !== undefined ? { deletionGracePeriodSeconds: o.grace } : {}) },
    spec: {
      ...t.spec,
      nodeName: 'ip-10-0-1-13.ec2.internal',
      restartPolicy: 'Never',
      containers: [{ ...t.spec?.containers?.[0], name: o.main }],
    },
    status: o.status,
  };
}

const sidecarRunning = { name: 'sparklogs-collector', state: { running: { startedAt: '2026-11-21T09:46:01Z' } } };

test('an executor killed by the kernel for exceeding its memory limit: OOMKilled, exit 137', () => {
  const pod = sparkPod({
    executorId: '3',
    main: 'spark-kubernetes-executor',
    status: {
      phase: 'Failed',
      startTime: '2026-11-21T09:46:00Z',
      containerStatuses: [
        { name: 'spark-kubernetes-executor', state: { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: '2026-11-21T09:46:02Z', finishedAt: '2026-11-21T09:46:14Z' } } },
      ],
    },
  });
  (pod.status as { initContainerStatuses?: unknown }).initContainerStatuses = [sidecarRunning];
  assert.deepEqual(lifecycleDoc(pod, { deleted: false, observedAt: NOW }), {
    kind: 'lifecycle',
    appType: 'spark',
    appId: 'spark-ca230a70a8c27467a0c9de7ed936ff16',
    executorId: '3',
    role: 'executor',
    appName: 'etl-daily',
    namespace: 'spark-jobs',
    pod: 'etl-daily-7f3c2a9b1e-exec-3',
    podUid: '0b7c6a1e-4d2f-4f6a-9d51-000000000003',
    node: 'ip-10-0-1-13.ec2.internal',
    container: 'spark-kubernetes-executor',
    exitCode: 137,
    reason: 'OOMKilled',
    startedAt: Date.parse('2026-11-21T09:46:02Z'),
    finishedAt: Date.parse('2026-11-21T09:46:14Z'),
  });
});

test('the driver that completed: exit 0, Completed; typed-client Dates are read like wire strings', () => {
  const status: Pod['status'] = {
    phase: 'Succeeded',
    containerStatuses: [{ name: 'spark-kubernetes-driver', state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: new Date('2026-11-21T09:46:00Z'), finishedAt: new Date('2026-11-21T09:46:26Z') } } }],
  };
  const doc = lifecycleDoc(sparkPod({ main: 'spark-kubernetes-driver', status }), { deleted: false, observedAt: NOW });
  assert.equal(doc?.executorId, 'driver');
  assert.equal(doc?.role, 'driver');
  assert.equal(doc?.exitCode, 0);
  assert.equal(doc?.reason, 'Completed');
  assert.equal(doc?.startedAt, Date.parse('2026-11-21T09:46:00Z'));
  assert.equal(doc?.finishedAt, Date.parse('2026-11-21T09:46:26Z'));
});

test('a JVM that exits on its own after an OutOfMemoryError is Error with Spark\'s exit code 52, not OOMKilled', () => {
  const status: Pod['status'] = { phase: 'Failed', containerStatuses: [{ name: 'spark-kubernetes-executor', state: { terminated: { exitCode: 52, reason: 'Error', finishedAt: '2026-11-21T09:46:14Z' } } }] };
  const doc = lifecycleDoc(sparkPod({ executorId: '3', main: 'spark-kubernetes-executor', status }), { deleted: false, observedAt: NOW });
  assert.equal(doc?.exitCode, 52);
  assert.equal(doc?.reason, 'Error');
});

test('a running pod gives nothing until it ends; deleted while running it ends with reason Deleted and no exit code', () => {
  const status: Pod['status'] = {
    phase: 'Running',
    startTime: '2026-11-21T09:46:00Z',
    containerStatuses: [{ name: 'spark-kubernetes-executor', state: { running: { startedAt: '2026-11-21T09:46:03Z' } } }],
  };
  assert.equal(lifecycleDoc(sparkPod({ executorId: '2', main: 'spark-kubernetes-executor', status }), { deleted: false, observedAt: NOW }), undefined);
  const gone = sparkPod({ executorId: '2', main: 'spark-kubernetes-executor', status, deletionTimestamp: '2026-11-21T09:46:40Z' });
  const doc = lifecycleDoc(gone, { deleted: true, observedAt: NOW });
  assert.equal(doc?.reason, 'Deleted');
  assert.equal(doc?.exitCode, undefined);
  assert.equal('exitCode' in (doc ?? {}), false, 'no exitCode key at all (the strict mapping would take null, a reader would show it)');
  assert.equal(doc?.startedAt, Date.parse('2026-11-21T09:46:03Z'));
  assert.equal(doc?.finishedAt, Date.parse('2026-11-21T09:46:40Z'));
  // No deletion time on the object (a pod that vanished between two lists): the observation time.
  const vanished = sparkPod({ executorId: '2', main: 'spark-kubernetes-executor', status });
  assert.equal(lifecycleDoc(vanished, { deleted: true, observedAt: NOW })?.finishedAt, NOW);
});

// Found on the real cluster: executors Spark's driver deleted at the app's end showed as failed (Error, exit 143).
test('a container stopped by its pod\'s deletion ends Deleted with its exit code; one that ended before keeps its reason', () => {
  const ended = (exitCode: number, reason: string, finishedAt: string): Pod['status'] => ({
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    containerStatuses: [{ name: 'spark-kubernetes-executor', state: { terminated: { exitCode, reason, startedAt: '2026-11-21T09:46:03Z', finishedAt } } }],
  });
  // Deletion asked at 09:46:30 with 60 s of grace (deletionTimestamp 09:47:30); SIGTERM ended it at 09:46:31.
  const removed = lifecycleDoc(sparkPod({ executorId: '4', main: 'spark-kubernetes-executor', status: ended(143, 'Error', '2026-11-21T09:46:31Z'), deletionTimestamp: '2026-11-21T09:47:30Z', grace: 60 }), { deleted: true, observedAt: NOW });
  assert.equal(removed?.reason, 'Deleted');
  assert.equal(removed?.exitCode, 143);
  const idle = lifecycleDoc(sparkPod({ executorId: '1', main: 'spark-kubernetes-executor', status: ended(0, 'Completed', '2026-11-21T09:46:32Z'), deletionTimestamp: '2026-11-21T09:47:30Z', grace: 60 }), { deleted: true, observedAt: NOW });
  assert.equal(idle?.reason, 'Deleted');
  // OOMKilled at 09:46:10, deleted afterwards by the driver: still OOMKilled.
  const oom = lifecycleDoc(sparkPod({ executorId: '3', main: 'spark-kubernetes-executor', status: ended(137, 'OOMKilled', '2026-11-21T09:46:10Z'), deletionTimestamp: '2026-11-21T09:47:30Z', grace: 60 }), { deleted: true, observedAt: NOW });
  assert.equal(oom?.reason, 'OOMKilled');
  // Failed at 09:46:10 (exit 52), deleted afterwards: still Error.
  const failed = lifecycleDoc(sparkPod({ executorId: '5', main: 'spark-kubernetes-executor', status: ended(52, 'Error', '2026-11-21T09:46:10Z'), deletionTimestamp: '2026-11-21T09:47:30Z', grace: 60 }), { deleted: true, observedAt: NOW });
  assert.equal(failed?.reason, 'Error');
});

// Found on the real cluster (a deleted Flink TaskManager showed failed, exit 143): once the container has
// ended, the kubelet removes the pod with grace 0, which moves deletionTimestamp to that moment.
test('a pod whose last version has grace 0: the earliest deletion request seen decides', () => {
  const status: Pod['status'] = {
    phase: 'Failed',
    containerStatuses: [{ name: 'spark-kubernetes-executor', state: { terminated: { exitCode: 143, reason: 'Error', finishedAt: '2026-11-21T09:46:31Z' } } }],
  };
  const last = sparkPod({ executorId: '4', main: 'spark-kubernetes-executor', status, deletionTimestamp: '2026-11-21T09:46:33Z', grace: 0 });
  assert.equal(lifecycleDoc(last, { deleted: true, observedAt: NOW })?.reason, 'Error', 'the last version alone');
  const asked = Date.parse('2026-11-21T09:46:30Z');
  const doc = lifecycleDoc(last, { deleted: true, observedAt: NOW, deletionRequestedAt: asked });
  assert.equal(doc?.reason, 'Deleted');
  assert.equal(doc?.exitCode, 143);
  // A container that failed before the deletion was asked keeps its reason.
  assert.equal(lifecycleDoc(last, { deleted: true, observedAt: NOW, deletionRequestedAt: Date.parse('2026-11-21T09:46:32Z') })?.reason, 'Error');
});

// Found on the real cluster: Flink deletes a TaskManager pod it asked for before the pod starts.
test('a pod deleted while its container was still starting ends Deleted; one that could not start says why', () => {
  const waiting = (reason: string): Pod['status'] => ({ phase: 'Pending', containerStatuses: [{ name: 'spark-kubernetes-executor', state: { waiting: { reason } } }] });
  const starting = lifecycleDoc(sparkPod({ executorId: '6', main: 'spark-kubernetes-executor', status: waiting('PodInitializing'), deletionTimestamp: '2026-11-21T09:46:40Z' }), { deleted: true, observedAt: NOW });
  assert.equal(starting?.reason, 'Deleted');
  assert.equal(starting?.exitCode, undefined);
  const pulling = lifecycleDoc(sparkPod({ executorId: '7', main: 'spark-kubernetes-executor', status: waiting('ImagePullBackOff'), deletionTimestamp: '2026-11-21T09:46:40Z' }), { deleted: true, observedAt: NOW });
  assert.equal(pulling?.reason, 'ImagePullBackOff');
});

test('an evicted pod: the pod\'s reason (Evicted) wins over the container\'s generic Error', () => {
  const status: Pod['status'] = {
    phase: 'Failed', reason: 'Evicted',
    containerStatuses: [{ name: 'spark-kubernetes-executor', state: { terminated: { exitCode: 143, reason: 'Error', finishedAt: '2026-11-21T09:46:30Z' } } }],
  };
  const doc = lifecycleDoc(sparkPod({ executorId: '5', main: 'spark-kubernetes-executor', status }), { deleted: false, observedAt: NOW });
  assert.equal(doc?.reason, 'Evicted');
  assert.equal(doc?.exitCode, 143);
});

test('a Flink task manager: app id from label app, executor id = pod name, role from label component', () => {
  const t = template('flink/taskmanager-pod-template.yaml');
  const pod: Pod = {
    metadata: {
      name: 'wordcount-taskmanager-1-2', namespace: 'spark-jobs', uid: 'c1d2e3f4-0000-4000-8000-000000000012',
      labels: { ...t.metadata?.labels, app: 'wordcount', component: 'taskmanager', type: 'flink-native-kubernetes' },
    },
    spec: { ...t.spec, nodeName: 'node-b', restartPolicy: 'Never', containers: [{ ...t.spec?.containers?.[0], name: 'flink-main-container' }] },
    status: { phase: 'Failed', containerStatuses: [{ name: 'flink-main-container', state: { terminated: { exitCode: 1, reason: 'Error', startedAt: '2026-11-21T10:00:00Z', finishedAt: '2026-11-21T10:20:00Z' } } }] },
  };
  const doc = lifecycleDoc(pod, { deleted: false, observedAt: NOW });
  assert.deepEqual(
    { appType: doc?.appType, appId: doc?.appId, executorId: doc?.executorId, role: doc?.role, exitCode: doc?.exitCode, reason: doc?.reason, container: doc?.container, node: doc?.node },
    { appType: 'flink', appId: 'wordcount', executorId: 'wordcount-taskmanager-1-2', role: 'taskmanager', exitCode: 1, reason: 'Error', container: 'flink-main-container', node: 'node-b' },
  );
});

test('a Flume agent (a Deployment, restartPolicy Always): an exit is not final, its deletion is', () => {
  const d = template('flume/agent.yaml');
  const tpl = d.spec.template!;
  const pod: Pod = {
    metadata: { name: 'flume-agent-6d9f8c7b5-x2k4q', namespace: 'spark-jobs', uid: 'f1f1f1f1-0000-4000-8000-000000000001', labels: { ...tpl.metadata?.labels, 'pod-template-hash': '6d9f8c7b5' } },
    spec: { ...tpl.spec, nodeName: 'node-c', restartPolicy: 'Always' },
    status: {
      phase: 'Running',
      containerStatuses: [{
        name: 'flume',
        state: { terminated: { exitCode: 1, reason: 'Error', finishedAt: '2026-11-21T11:00:00Z' } },
        lastState: {},
      }],
    },
  };
  assert.equal(podIdentity(pod)?.identity.appId, 'flume-agent');
  assert.equal(lifecycleDoc(pod, { deleted: false, observedAt: NOW }), undefined, 'the kubelet restarts it');
  pod.status!.containerStatuses![0]!.state = { running: { startedAt: '2026-11-21T11:00:10Z' } };
  pod.status!.containerStatuses![0]!.lastState = { terminated: { exitCode: 1, reason: 'Error', finishedAt: '2026-11-21T11:00:00Z' } };
  const doc = lifecycleDoc(pod, { deleted: true, observedAt: NOW });
  assert.equal(doc?.executorId, 'flume-agent-6d9f8c7b5-x2k4q');
  assert.equal(doc?.role, 'agent');
  assert.equal(doc?.reason, 'Deleted');
  assert.equal(doc?.finishedAt, NOW);
});

test('pods without a sparklogs collector are not ours; a collector whose id cannot be resolved is an error naming the pod', () => {
  assert.equal(lifecycleDoc({ metadata: { name: 'coredns-1', namespace: 'kube-system' }, spec: { containers: [{ name: 'coredns' }] } }, { deleted: true, observedAt: NOW }), undefined);
  const status: Pod['status'] = { containerStatuses: [{ name: 'spark-kubernetes-executor', state: { terminated: { exitCode: 0 } } }] };
  const pod = sparkPod({ executorId: '1', main: 'spark-kubernetes-executor', status });
  delete pod.metadata!.labels!['spark-app-selector'];
  assert.throws(() => lifecycleDoc(pod, { deleted: false, observedAt: NOW }), (e: unknown) => e instanceof PodIdentityError && /spark-jobs\/etl-daily-7f3c2a9b1e-exec-1: .*appId/.test(e.message));
  const secret = sparkPod({ executorId: '1', main: 'spark-kubernetes-executor', status });
  const env = secret.spec!.initContainers![0]!.env!;
  env.find((e) => e.name === 'SPARKLOGS_APP_ID')!.valueFrom = { configMapKeyRef: { name: 'x', key: 'y' } };
  assert.throws(() => podIdentity(secret), /SPARKLOGS_APP_ID .*only value and fieldRef/);
});

test('the write: the executor\'s lifecycle id, version = observation time (a later observation wins)', () => {
  const status: Pod['status'] = { containerStatuses: [{ name: 'spark-kubernetes-executor', state: { terminated: { exitCode: 0, finishedAt: '2026-11-21T09:46:20Z' } } }] };
  const doc = lifecycleDoc(sparkPod({ executorId: '1', main: 'spark-kubernetes-executor', status }), { deleted: false, observedAt: NOW })!;
  assert.equal(doc.reason, 'Completed', 'a terminated state without a reason: Completed for exit 0');
  const item = lifecycleItem(names('sparklogs'), doc, NOW + 0.7);
  assert.deepEqual({ index: item.index, id: item.id, version: item.version }, { index: 'sparklogs-executors', id: 'spark/spark-ca230a70a8c27467a0c9de7ed936ff16/1/lifecycle', version: NOW });
  assert.ok(item.version < VERSION_HORIZON);
});

test('a Deployment pod deleted in a crash loop: its last exit is its end', () => {
  const d = template('flume/agent.yaml');
  const tpl = d.spec.template!;
  const pod: Pod = {
    metadata: { name: 'flume-agent-6d9f8c7b5-x2k4q', namespace: 'spark-jobs', uid: 'f1f1f1f1-0000-4000-8000-000000000001', labels: { ...tpl.metadata?.labels } },
    spec: { ...tpl.spec, nodeName: 'node-c', restartPolicy: 'Always' },
    status: {
      phase: 'Running',
      containerStatuses: [{
        name: 'flume',
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: '2026-11-21T11:00:00Z' } },
      }],
    },
  };
  const doc = lifecycleDoc(pod, { deleted: true, observedAt: NOW });
  assert.deepEqual([doc?.reason, doc?.exitCode, doc?.finishedAt], ['OOMKilled', 137, Date.parse('2026-11-21T11:00:00Z')]);
});

test('node mode (byLabels): a Spark pod without a sidecar is identified from its labels, as the node collector identifies its lines', () => {
  const pod = sparkPod({
    executorId: '4',
    main: 'spark-kubernetes-executor',
    status: { phase: 'Failed', containerStatuses: [{ name: 'spark-kubernetes-executor', state: { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: '2026-11-21T09:46:02Z', finishedAt: '2026-11-21T09:46:14Z' } } }] },
  });
  delete pod.spec!.initContainers; // no collector sidecar: the node collector reads its stdout
  assert.equal(lifecycleDoc(pod, { deleted: false, observedAt: NOW }), undefined, 'not ours unless the watcher is told about node mode');
  assert.deepEqual(lifecycleDoc(pod, { deleted: false, observedAt: NOW, byLabels: true }), {
    kind: 'lifecycle', appType: 'spark', appId: 'spark-ca230a70a8c27467a0c9de7ed936ff16', executorId: '4', role: 'executor', appName: 'etl-daily',
    namespace: 'spark-jobs', pod: 'etl-daily-7f3c2a9b1e-exec-4', podUid: '0b7c6a1e-4d2f-4f6a-9d51-000000000004', node: 'ip-10-0-1-13.ec2.internal',
    container: 'spark-kubernetes-executor', exitCode: 137, reason: 'OOMKilled',
    startedAt: Date.parse('2026-11-21T09:46:02Z'), finishedAt: Date.parse('2026-11-21T09:46:14Z'),
  });
  // What the node collector leaves out, the watcher leaves out: no labels, or collect: "false".
  assert.equal(podIdentity({ metadata: { name: 'coredns-1', namespace: 'kube-system', uid: 'u1' }, spec: { containers: [{ name: 'coredns' }] } }, true), undefined);
  const optedOut = structuredClone(pod);
  optedOut.metadata!.annotations = { 'sparklogs.dev/collect': 'false' };
  assert.equal(podIdentity(optedOut, true), undefined);
  // A pod with a sidecar keeps the sidecar's identity; a bad annotation is an error naming the pod.
  const bad = structuredClone(pod);
  bad.metadata!.annotations = { 'sparklogs.dev/log-pattern': '%d %Q %m%n' };
  assert.throws(() => podIdentity(bad, true), (e: unknown) => e instanceof PodIdentityError && /spark-jobs\/etl-daily-7f3c2a9b1e-exec-4: /.test(e.message));
});
