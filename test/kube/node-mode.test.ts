// The collector's node mode on the real node: the sparklogs-node-collector
// DaemonSet (deploy/kubernetes/components/node-collector, only its host paths
// pointed at this node's kubelet directories) reads the kubelet's CRI log
// files of pods that have no sidecar, identity from their Spark labels. The
// pods print numbered lines to stdout and one line longer than the runtime's
// 16 KiB record (written as P pieces and an F); three pods are deleted the
// moment they end, and the node collector's own pod is replaced while one of
// them writes (the next resumes from the checkpoints on the node). After every
// pod is gone, the query API serves every line
// exactly once, in order, under the app and executor the labels name; once
// the kubelet has removed the pods' log directories (its cleanup, about a
// minute after the deletion here), the collector lets each pod go with every
// line acknowledged (podFinished) and drops its checkpoint. With the
// aggregator told so (SPARKLOGS_WATCH_PODS_BY_LABELS=true, as deploy/README
// says for node mode), every pod's end is recorded too, identified from the
// same labels: exit 0, Completed, with its pod's name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describeNamespace, installSparklogs, kubectl, kubectlJson, REPO, testCluster, waitFor, type Installed } from './cluster.js';
import { api, assertExact, executorLines, NAMESPACE, podState, servedSeqs, uniqueSuffix, type ApiExecutor } from './pods.js';

const cluster = testCluster();
let sparklogs: Installed;
const suffix = uniqueSuffix();
const artifacts = join(REPO, 'test-artifacts', `node-mode-${suffix}`);
const kustomization = join(artifacts, 'kustomize');

// Writes synchronously to stdout (fd 1): nothing is left in a buffer when it exits.
const WRITER = `
const fs = require('fs');
const tag = process.env.TAG;
const n = Number(process.env.LINES);
const every = Number(process.env.EVERY_MS);
const line = (text) => fs.writeSync(1, new Date().toISOString() + ' INFO [main] dev.sparklogs.test.Writer: ' + text + '\\n');
(async () => {
  for (let i = 1; i <= n; i++) {
    line('sparklogs-line ' + tag + ' seq=' + i);
    if (i === Math.floor(n / 2)) line('sparklogs-long ' + tag + ' ' + 'x'.repeat(40000));
    if (every > 0) await new Promise((r) => setTimeout(r, every));
  }
})();
`;

interface Writer { name: string; executorId: string; role: 'driver' | 'executor'; lines: number; everyMs: number; deleteAtEnd: boolean }

function pod(w: Writer, appId: string): string {
  const labels: Record<string, string> = { 'spark-app-selector': appId, 'spark-app-name': 'node-mode', 'spark-role': w.role };
  if (w.role === 'executor') labels['spark-exec-id'] = w.executorId;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: w.name, namespace: NAMESPACE, labels },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 5,
      containers: [{
        name: w.role === 'driver' ? 'spark-kubernetes-driver' : 'spark-kubernetes-executor',
        image: 'sparklogs/collector:0.1.0',
        imagePullPolicy: 'Never',
        command: ['/usr/local/bin/node', '-e', WRITER],
        env: [{ name: 'TAG', value: w.name }, { name: 'LINES', value: String(w.lines) }, { name: 'EVERY_MS', value: String(w.everyMs) }],
        resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '96Mi' } },
      }],
    },
  });
}

async function nodeCollectorLogs(): Promise<string> {
  return kubectl(cluster, ['-n', 'sparklogs-node', 'logs', 'ds/sparklogs-node-collector', '--tail=-1']).catch((err: Error) => err.message);
}

before(async () => {
  sparklogs = await installSparklogs(cluster);
  // The kubelet's own pod log directory on this node (its podLogsDir), read from its configuration.
  const node = (await kubectlJson<{ items: { metadata: { name: string } }[] }>(cluster, ['get', 'nodes'])).items[0]!.metadata.name;
  const configz = JSON.parse(await kubectl(cluster, ['get', '--raw', `/api/v1/nodes/${node}/proxy/configz`])) as { kubeletconfig: { podLogsDir?: string } };
  const podLogsDir = configz.kubeletconfig.podLogsDir ?? '/var/log/pods';
  mkdirSync(kustomization, { recursive: true });
  // The component as shipped; only the host paths are this node's.
  writeFileSync(join(kustomization, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
components:
  - ${relative(kustomization, join(REPO, 'deploy/kubernetes/components/node-collector'))}
patches:
  - patch: |-
      apiVersion: apps/v1
      kind: DaemonSet
      metadata: { name: sparklogs-node-collector, namespace: sparklogs-node }
      spec:
        template:
          spec:
            volumes:
              - name: pod-logs
                hostPath: { path: ${podLogsDir}, type: Directory }
              - name: state
                hostPath: { path: ${join(podLogsDir, '..', 'node-collector-state')}, type: DirectoryOrCreate }
`);
  // A fresh DaemonSet: its pod starts on the image just built from this tree.
  await kubectl(cluster, ['delete', '-k', kustomization, '--ignore-not-found', '--wait=true']);
  await kubectl(cluster, ['apply', '-k', kustomization]);
  await kubectl(cluster, ['-n', 'sparklogs-node', 'rollout', 'status', 'ds/sparklogs-node-collector', '--timeout=3m']);
  await waitFor('the node collector listed its pods', async () => ((await nodeCollectorLogs()).includes('"podsListed"') ? true : undefined), 60_000);
  // The aggregator's pod watcher records the ends of pods without a sidecar too (deploy/README, node mode).
  await kubectl(cluster, ['-n', 'sparklogs', 'set', 'env', 'deployment/sparklogs-aggregator', 'SPARKLOGS_WATCH_PODS_BY_LABELS=true']);
  await kubectl(cluster, ['-n', 'sparklogs', 'rollout', 'status', 'deployment/sparklogs-aggregator', '--timeout=5m']);
});

after(async () => {
  writeFileSync(join(artifacts, 'node-collector.log'), await nodeCollectorLogs());
  // Other real-cluster tests run their pods without it, and the aggregator as deployed.
  await kubectl(cluster, ['delete', '-k', kustomization, '--ignore-not-found', '--wait=true']).catch(() => undefined);
  await kubectl(cluster, ['-n', 'sparklogs', 'set', 'env', 'deployment/sparklogs-aggregator', 'SPARKLOGS_WATCH_PODS_BY_LABELS-']).catch(() => undefined);
  await kubectl(cluster, ['-n', 'sparklogs', 'rollout', 'status', 'deployment/sparklogs-aggregator', '--timeout=5m']).catch(() => undefined);
});

test('node mode on the real node: every stdout line of Spark-labelled pods, deleted ones included, served once, in order, under its app and executor, across a replacement of the node collector', { timeout: 6 * 60_000 }, async () => {
  const appId = `spark-nodemode${suffix}`;
  const writers: Writer[] = [
    // Deleted the moment they end.
    { name: `nm-exec1-${suffix}`, executorId: '1', role: 'executor', lines: 3000, everyMs: 0, deleteAtEnd: true },
    { name: `nm-exec2-${suffix}`, executorId: '2', role: 'executor', lines: 300, everyMs: 10, deleteAtEnd: true },
    // Still writing when the node collector's pod is replaced (below).
    { name: `nm-exec3-${suffix}`, executorId: '3', role: 'executor', lines: 1000, everyMs: 15, deleteAtEnd: true },
    { name: `nm-driver-${suffix}`, executorId: 'driver', role: 'driver', lines: 200, everyMs: 0, deleteAtEnd: false },
  ];
  try {
    await kubectl(cluster, ['apply', '-f', '-'], writers.map((w) => pod(w, appId)).join('\n'));
    // The node collector's pod replaced while executor 3 writes: the next one resumes from the
    // checkpoints on the node (hostPath), and lines sent twice are stored once (same line ids).
    const exec3 = writers[2]!;
    await waitFor(`${exec3.name}: collection under way`, async () => {
      const n = servedSeqs(await executorLines(sparklogs, appId, exec3.executorId), exec3.name).length;
      return n >= 50 ? n : undefined;
    }, 120_000, 500);
    const collectorPods = async () => (await kubectlJson<{ items: { metadata: { name: string; deletionTimestamp?: string }; status: { phase: string } }[] }>(cluster, ['-n', 'sparklogs-node', 'get', 'pods', '-l', 'app.kubernetes.io/name=sparklogs-node-collector'])).items;
    const first = (await collectorPods()).map((p) => p.metadata.name);
    await kubectl(cluster, ['-n', 'sparklogs-node', 'delete', 'pod', ...first, '--wait=false']);
    await waitFor('a new node collector pod running', async () => ((await collectorPods()).some((p) => !first.includes(p.metadata.name) && p.status.phase === 'Running' && !p.metadata.deletionTimestamp) ? true : undefined), 120_000, 500);
    // Delete each pod that asks for it as soon as it has ended.
    await Promise.all(
      writers.map(async (w) => {
        await waitFor(`${w.name} ended`, async () => {
          const s = await podState(cluster, w.name);
          return s && (s.status.phase === 'Succeeded' || s.status.phase === 'Failed') ? s : undefined;
        }, 180_000, 200);
        if (w.deleteAtEnd) await kubectl(cluster, ['-n', NAMESPACE, 'delete', 'pod', w.name, '--wait=false']);
      }),
    );
    await kubectl(cluster, ['-n', NAMESPACE, 'delete', 'pod', ...writers.filter((w) => !w.deleteAtEnd).map((w) => w.name), '--wait=false']);
    await waitFor('every writer pod gone', async () => ((await Promise.all(writers.map((w) => podState(cluster, w.name)))).every((s) => s === undefined) ? true : undefined), 120_000, 500);

    for (const w of writers) {
      const lines = await waitFor(`${w.name}: ${w.lines} lines served`, async () => {
        const got = await executorLines(sparklogs, appId, w.executorId);
        return servedSeqs(got, w.name).length >= w.lines ? got : undefined;
      }, 120_000, 2000);
      writeFileSync(join(artifacts, `${w.name}.json`), JSON.stringify(lines.map((l) => l.message.slice(0, 200))));
      assertExact(servedSeqs(lines, w.name), w.lines, `${appId}/${w.executorId}`);
      const long = lines.filter((l) => l.message.startsWith(`sparklogs-long ${w.name} `));
      assert.equal(long.length, 1, `${w.name}: the 40,000-character line (the runtime's P pieces and F) is one line`);
      assert.equal(long[0]!.message, `sparklogs-long ${w.name} ${'x'.repeat(40000)}`);
      assert.ok(lines.every((l) => l.pod === w.name), `${w.name}: every line names its pod`);
    }
    // Every pod's end, from the aggregator's watch: identified from the labels like its lines.
    const ends = await waitFor('every pod end recorded', async () => {
      const ex = (await api<{ executors: ApiExecutor[] }>(sparklogs, `/api/v1/apps/${appId}`))?.executors ?? [];
      return writers.every((w) => ex.find((e) => e.executorId === w.executorId)?.lifecycle?.exitCode !== undefined) ? ex : undefined;
    }, 120_000, 2000);
    for (const w of writers) {
      const e = ends.find((x) => x.executorId === w.executorId)!;
      assert.deepEqual([e.lifecycle!.exitCode, e.lifecycle!.reason, e.pod], [0, 'Completed', w.name], `${w.name}: its end as Kubernetes reported it`);
    }
    const logs = await nodeCollectorLogs();
    for (const w of writers) assert.match(logs, new RegExp(`"podIdentified".*"pod":"${NAMESPACE}/${w.name}"|"pod":"${NAMESPACE}/${w.name}".*"podIdentified"`), `${w.name}: identified from its labels`);
    assert.doesNotMatch(logs, new RegExp(`nodeIdentityFallback[^\\n]*${suffix}`), 'no pod of this test was shipped under its directory name');
    // The kubelet removes the directories after the pods are gone; the collector then lets each pod go.
    const finished = (text: string, w: Writer) => text.split('\n').some((l) => l.includes('"podFinished"') && l.includes(`"pod":"${NAMESPACE}/${w.name}"`));
    await waitFor('the collector let every deleted pod go (podFinished)', async () => {
      const text = await nodeCollectorLogs();
      return writers.every((w) => finished(text, w)) ? true : undefined;
    }, 180_000, 2000);
  } catch (err) {
    writeFileSync(join(artifacts, 'namespace.txt'), await describeNamespace(cluster, NAMESPACE));
    throw err;
  } finally {
    await kubectl(cluster, ['-n', NAMESPACE, 'delete', 'pod', '--ignore-not-found', '--wait=false', ...writers.map((w) => w.name)]).catch(() => undefined);
  }
});
