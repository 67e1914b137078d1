// K6: one aggregator replica watches pods at a time, the holder of the Lease
// sparklogs-pod-watcher, under the RBAC as deployed. When the holder's pod is
// deleted, another replica takes the Lease and pod ends after that are still
// recorded, by the holder only.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { testStack } from '../helpers/stack.js';
import { installSparklogs, kubectl, kubectlJson, testCluster, waitFor } from './cluster.js';

const cluster = testCluster();
const { esUrl } = testStack();

before(async () => {
  await installSparklogs(cluster);
});

interface Lease { spec: { holderIdentity?: string; leaseTransitions?: number } }

const lease = () => kubectlJson<Lease>(cluster, ['-n', 'sparklogs', 'get', 'lease', 'sparklogs-pod-watcher']);

async function aggregatorPods(): Promise<string[]> {
  const list = await kubectlJson<{ items: { metadata: { name: string; deletionTimestamp?: string }; status: { phase: string } }[] }>(cluster, ['-n', 'sparklogs', 'get', 'pods', '-l', 'app.kubernetes.io/name=sparklogs-aggregator']);
  return list.items.filter((p) => p.status.phase === 'Running' && !p.metadata.deletionTimestamp).map((p) => p.metadata.name);
}

/** The pod whose name the Lease's holder identity starts with (identity: <pod>_<suffix>). */
async function holderPod(): Promise<string | undefined> {
  const holder = (await lease()).spec.holderIdentity;
  if (!holder) return undefined;
  const pods = await aggregatorPods();
  return pods.find((p) => holder.startsWith(`${p}_`));
}

/** A pod the watcher treats as collected (a container with the collector's identity env), whose app container exits `code`. */
function endingPod(name: string, appId: string, code: number): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'spark-jobs' },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 2,
      initContainers: [{
        name: 'sparklogs-collector', image: 'registry.k8s.io/pause:3.10', restartPolicy: 'Always',
        env: [{ name: 'SPARKLOGS_APP_TYPE', value: 'spark' }, { name: 'SPARKLOGS_APP_ID', value: appId }, { name: 'SPARKLOGS_EXECUTOR_ID', value: '1' }, { name: 'SPARKLOGS_ROLE', value: 'executor' }, { name: 'SPARKLOGS_CONTAINER', value: 'app' }],
      }],
      containers: [{ name: 'app', image: 'sparklogs/collector:0.1.0', imagePullPolicy: 'Never', command: ['/usr/local/bin/node', '-e', `setTimeout(() => process.exit(${code}), 2000)`] }],
    },
  });
}

/** The lifecycle document of the pod's executor, read from the store (an app with no lines has no page in the API). */
async function lifecycleOf(appId: string): Promise<{ exitCode?: number; reason?: string } | undefined> {
  const r = await fetch(`${esUrl}/sparklogs-executors/_search`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: { bool: { filter: [{ term: { appId } }, { term: { kind: 'lifecycle' } }] } } }),
  });
  if (r.status !== 200) return undefined;
  const hits = ((await r.json()) as { hits: { hits: { _source: { exitCode?: number; reason?: string } }[] } }).hits.hits;
  return hits[0]?._source;
}

async function podEndedLogs(pod: string, podName: string): Promise<number> {
  const logs = await kubectl(cluster, ['-n', 'sparklogs', 'logs', pod, '--tail=-1']);
  return logs.split('\n').filter((l) => l.includes('"event":"podEnded"') && l.includes(`"pod":"${podName}"`)).length;
}

test('K6: one aggregator replica holds the pod-watch Lease; after its pod is deleted another takes it and records pod ends alone', { timeout: 10 * 60_000 }, async () => {
  const first = await waitFor('a Lease holder among the running aggregators', holderPod, 2 * 60_000);
  const before = (await lease()).spec.leaseTransitions ?? 0;
  const others = (await aggregatorPods()).filter((p) => p !== first);
  assert.ok(others.length >= 1, 'the overlay runs two aggregator replicas');
  for (const p of others) {
    const logs = await kubectl(cluster, ['-n', 'sparklogs', 'logs', p, '--tail=-1']);
    assert.ok(!logs.includes('"event":"leaseAcquired"') || logs.lastIndexOf('"event":"leaseLost"') > logs.lastIndexOf('"event":"leaseAcquired"'), `${p} watches too`);
  }

  // The holder's pod is deleted as a user (or a rolling update) would: default grace, SIGTERM.
  await kubectl(cluster, ['-n', 'sparklogs', 'delete', 'pod', first, '--wait=false']);
  const next = await waitFor('another replica holding the Lease', async () => {
    const h = await holderPod();
    return h && h !== first ? h : undefined;
  }, 2 * 60_000);
  assert.ok(((await lease()).spec.leaseTransitions ?? 0) > before, 'the Lease changed hands');

  // A pod that ends now is recorded, by the new holder only.
  const appId = `spark-lease${Date.now().toString(36)}`;
  const podName = `lease-${Date.now().toString(36)}`;
  await kubectl(cluster, ['apply', '-f', '-'], endingPod(podName, appId, 3));
  const l = await waitFor('the pod\'s end recorded', async () => {
    const x = await lifecycleOf(appId);
    return x?.exitCode !== undefined ? x : undefined;
  }, 3 * 60_000, 2000);
  assert.equal(l.exitCode, 3);
  assert.equal(l.reason, 'Error');
  await kubectl(cluster, ['-n', 'spark-jobs', 'delete', 'pod', podName, '--wait=true']);
  await waitFor('the deletion seen', async () => ((await podEndedLogs(next, podName)) >= 1 ? true : undefined), 60_000);
  for (const p of (await aggregatorPods()).filter((x) => x !== next)) {
    assert.equal(await podEndedLogs(p, podName), 0, `${p} does not hold the Lease and recorded the pod's end`);
  }
});
