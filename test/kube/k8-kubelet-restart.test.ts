// K8 of SCENARIOS.md: the kubelet restarts while pods run. Pods built from
// the repository's executor pod template (collector sidecar as deployed)
// write numbered lines steadily; the node's kubelet is stopped for a while
// and started again (deploy/local/kube restart-component kubelet, same flags
// as `up`). The containers keep running, neither the app nor the sidecar is
// restarted, the lines written before, during and after go on being read and
// are served exactly once, in order; the pods' ends are recorded as
// Kubernetes reports them.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { installSparklogs, kubectl, REPO, testCluster, waitFor, type Installed } from './cluster.js';
import { api, assertExact, executorLines, NAMESPACE, podState, servedSeqs, templatePod, uniqueSuffix, type ApiExecutor } from './pods.js';

const exec = promisify(execFile);
const cluster = testCluster();
let sparklogs: Installed;

before(async () => {
  sparklogs = await installSparklogs(cluster);
});

const kube = (args: string[]) => exec('bash', [join(REPO, 'deploy/local/kube'), ...args], { cwd: REPO, maxBuffer: 16 << 20 });

async function kubeletPid(): Promise<number | undefined> {
  const out = (await kube(['status']).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }))).stdout;
  const m = /^kubelet: up \(pid (\d+)\)/m.exec(out);
  return m ? Number(m[1]) : undefined;
}

test('K8: the kubelet restarts while pods write: no container restarted, every line served exactly once, in order', { timeout: 8 * 60_000 }, async (t) => {
  // Whatever happens, the node has its kubelet again for the tests after this one.
  t.after(() => kube(['start-component', 'kubelet']).catch(() => undefined));
  const suffix = uniqueSuffix();
  const appId = `spark-k8${suffix}`;
  // Executor 1: 20 lines/s for about 75 s, then exits 0. Executor 2: same rate, exits 7.
  const RATE = 1500;
  const pods = [
    { id: '1', name: `k8-${suffix}-1`, code: 0, reason: 'Completed', status: 'removed' },
    { id: '2', name: `k8-${suffix}-2`, code: 7, reason: 'Error', status: 'failed' },
  ];
  for (const p of pods) {
    await kubectl(cluster, ['apply', '-f', '-'], templatePod({ name: p.name, appId, executorId: p.id, plan: { steps: ['burst:50', `rate:${RATE}:50`, `exit:${p.code}`] } }));
  }
  t.after(() => kubectl(cluster, ['-n', NAMESPACE, 'delete', 'pod', ...pods.map((p) => p.name), '--ignore-not-found', '--wait=false']).catch(() => undefined));
  for (const p of pods) {
    await waitFor(`pod ${p.name} running`, async () => ((await podState(cluster, p.name))?.status.phase === 'Running' ? true : undefined), 4 * 60_000);
  }
  // Lines flow before the restart.
  await waitFor('lines of both pods served', async () => {
    for (const p of pods) if (servedSeqs(await executorLines(sparklogs, appId, p.id), p.name).length < 100) return undefined;
    return true;
  }, 3 * 60_000, 2000);

  // The kubelet stops (its pods do not) for 20 s, then starts again.
  const before = await kubeletPid();
  assert.ok(before, 'the kubelet runs');
  const atStop = await Promise.all(pods.map(async (p) => servedSeqs(await executorLines(sparklogs, appId, p.id), p.name).length));
  await kube(['stop-component', 'kubelet']);
  assert.equal(await kubeletPid(), undefined, 'the kubelet is stopped');
  const stoppedAt = Date.now();
  await new Promise((r) => setTimeout(r, 20_000));
  const midway = await Promise.all(pods.map(async (p) => servedSeqs(await executorLines(sparklogs, appId, p.id), p.name).length));
  await kube(['start-component', 'kubelet']);
  const after = await kubeletPid();
  assert.ok(after && after !== before, `a new kubelet runs (pid ${before} -> ${after})`);
  t.diagnostic(`kubelet down ${Math.round((Date.now() - stoppedAt) / 1000)} s; lines served while it was down: ${midway.join(', ')}`);
  await waitFor('the node Ready again', async () => {
    const s = (await kubectl(cluster, ['get', 'nodes', '-o', 'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}'])).trim();
    return s === 'True' ? true : undefined;
  }, 2 * 60_000);

  // The pods end by themselves; nothing of theirs was restarted.
  for (const p of pods) {
    const s = await waitFor(`pod ${p.name} ended`, async () => {
      const x = await podState(cluster, p.name);
      return x && (x.status.phase === 'Succeeded' || x.status.phase === 'Failed') ? x : undefined;
    }, 4 * 60_000, 2000);
    const main = s.status.containerStatuses?.find((c) => c.name === 'spark-kubernetes-executor');
    const side = s.status.initContainerStatuses?.find((c) => c.name === 'sparklogs-collector');
    assert.equal(main?.restartCount, 0, `${p.name}: the app container was not restarted`);
    assert.equal(side?.restartCount, 0, `${p.name}: the collector sidecar was not restarted`);
    assert.equal(main?.state?.terminated?.exitCode, p.code, `${p.name}: exit code`);
  }
  // Spark deletes its executor pods when done.
  await kubectl(cluster, ['-n', NAMESPACE, 'delete', 'pod', ...pods.map((p) => p.name), '--wait=true']);

  const total = 50 + RATE;
  await waitFor('every line served', async () => {
    for (const p of pods) if (servedSeqs(await executorLines(sparklogs, appId, p.id), p.name).length < total) return undefined;
    return true;
  }, 3 * 60_000, 2000);
  await new Promise((r) => setTimeout(r, 5000));
  for (const p of pods) {
    const lines = await executorLines(sparklogs, appId, p.id);
    assertExact(servedSeqs(lines, p.name), total, `pod ${p.name}`);
    const i = pods.indexOf(p);
    assert.ok(midway[i]! > atStop[i]!, `pod ${p.name}: lines kept being served while the kubelet was down (${atStop[i]} -> ${midway[i]})`);
  }
  // Each pod's end as Kubernetes reported it.
  const app = await waitFor('both pod ends recorded', async () => {
    const a = await api<{ executors: ApiExecutor[] }>(sparklogs, `/api/v1/apps/${appId}`);
    return pods.every((p) => a!.executors.find((e) => e.executorId === p.id)?.lifecycle?.exitCode !== undefined) ? a! : undefined;
  }, 2 * 60_000, 2000);
  for (const p of pods) {
    const e = app.executors.find((x) => x.executorId === p.id)!;
    assert.equal(e.lifecycle?.exitCode, p.code, `executor ${p.id}: ${JSON.stringify(e.lifecycle)}`);
    assert.equal(e.lifecycle?.reason, p.reason, `executor ${p.id}: ${JSON.stringify(e.lifecycle)}`);
    assert.equal(e.status, p.status, `executor ${p.id}`);
    assert.equal(e.pod, p.name);
  }
});
