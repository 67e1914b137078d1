// The aggregator's pod watcher (aggregator/sources/kubernetes.ts) against the
// real kube-apiserver of the node: its paged first list, its watch, and its
// recovery from a watch position the server no longer has (410 Gone).
//
// Pods of one app run on the node in a namespace of their own: a driver that
// has already completed when the watcher starts, an executor that the kernel
// kills at its memory limit while the watch is open, an executor deleted
// while the watcher is cut off from the API server, and a pod that is not
// ours. The watcher reaches the API server through a TCP relay the test cuts;
// during the cut the API server is restarted, so its watch cache no longer
// holds the watcher's position, the re-opened watch is answered 410, and the
// relist must find the deleted executor missing and store it as Deleted.
// The watcher lists with pages of 2 and the ended driver is on the second
// page (the server lists by name), so a list that ignored `continue` would
// miss it. Elasticsearch is the test stack's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { createEsSink } from '../../aggregator/sinks/elasticsearch.js';
import { startPodWatcher } from '../../aggregator/sources/kubernetes.js';
import { relay } from '../helpers/relay.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { kubectl, kubectlJson, REPO, testCluster, waitFor } from './cluster.js';
import type { PodState } from './pods.js';

const exec = promisify(execFile);
const cluster = testCluster();
const kube = (args: string[]) => exec('bash', [join(REPO, 'deploy/local/kube'), ...args], { cwd: REPO, maxBuffer: 16 << 20 });

const APP = `spark-${randomBytes(12).toString('hex')}`;
const NS = `podwatch-${randomBytes(3).toString('hex')}`;

/** A pod the watcher treats as collected: a sidecar with the collector's identity env (a pause container: no lines are needed here). */
function appPod(name: string, executorId: string, script: string, memory = '96Mi'): object {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: NS, labels: { 'spark-app-selector': APP, 'spark-role': executorId === 'driver' ? 'driver' : 'executor' } },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      initContainers: [{
        name: 'sparklogs-collector', image: 'registry.k8s.io/pause:3.10', restartPolicy: 'Always',
        env: [
          { name: 'SPARKLOGS_APP_TYPE', value: 'spark' }, { name: 'SPARKLOGS_APP_ID', value: APP },
          { name: 'SPARKLOGS_EXECUTOR_ID', value: executorId }, { name: 'SPARKLOGS_ROLE', value: executorId === 'driver' ? 'driver' : 'executor' },
          { name: 'SPARKLOGS_CONTAINER', value: 'app' },
        ],
      }],
      containers: [{
        name: 'app', image: 'sparklogs/collector:0.1.0', imagePullPolicy: 'Never', command: ['/usr/local/bin/node', '-e', script],
        resources: { requests: { cpu: '10m', memory }, limits: { memory } },
      }],
    },
  };
}

const WAIT_FOREVER = 'setInterval(() => undefined, 1 << 30)';
// Waits for /tmp/go (created with kubectl exec), then allocates until the kernel kills it at the limit.
const OOM_ON_GO = `const fs = require('fs'); const keep = []; setInterval(() => { if (fs.existsSync('/tmp/go')) for (let i = 0; i < 64; i++) keep.push(Buffer.alloc(1 << 20, 1)); }, 200);`;

const podState = (name: string) => kubectlJson<PodState>(cluster, ['-n', NS, 'get', 'pod', name]).catch((err: Error) => {
  if (/NotFound|not found/.test(err.message)) return undefined;
  throw err;
});
const appState = (p: PodState | undefined) => p?.status.containerStatuses?.find((c) => c.name === 'app')?.state;

test('pod watcher on the real API server: paged list, watch, 410 Gone after an API server restart, a pod deleted unseen', { timeout: 9 * 60_000 }, async (t) => {
  const { esUrl } = testStack();
  const n = uniqueNames('podwatch');
  const sink = createEsSink({ url: esUrl, names: n, requestTimeoutMs: 10_000 });
  await sink.installTemplates();

  await kubectl(cluster, ['create', 'namespace', NS]);
  t.after(() => kubectl(cluster, ['delete', 'namespace', NS, '--wait=false']).catch(() => undefined));
  // Listed by name: a-exec-1, b-exec-2 on the first page of 2; c-other, z-driver on the second.
  const pods = [
    appPod('a-exec-1', '1', OOM_ON_GO, '64Mi'),
    appPod('b-exec-2', '2', WAIT_FOREVER),
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'c-other', namespace: NS }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10' }] } },
    appPod('z-driver', 'driver', 'process.exit(0)'),
  ];
  await kubectl(cluster, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }));
  const driverPod = await waitFor('the driver completed', async () => {
    const p = await podState('z-driver');
    return appState(p)?.terminated ? p : undefined;
  }, 180_000);
  for (const name of ['a-exec-1', 'b-exec-2']) await waitFor(`${name} running`, async () => (appState(await podState(name))?.running ? true : undefined), 180_000);

  // The watcher reaches the API server through the relay; its certificate names 127.0.0.1.
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  const server = new URL(kc.getCurrentCluster()!.server);
  const r = relay({ host: server.hostname, port: Number(server.port) });
  await r.open();
  const current = kc.getCurrentCluster()!;
  kc.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.name === current.name ? { ...c, server: `https://127.0.0.1:${r.port}` } : c)),
    users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext,
  });

  const events: { event?: string; status?: number; pods?: number; vanished?: number }[] = [];
  const log = pino({ level: 'info' }, new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) events.push(JSON.parse(l) as (typeof events)[number]);
      cb();
    },
  }));
  const watcher = startPodWatcher({
    namespaces: [NS], sink, names: n, log, kubeConfig: kc, pageSize: 2,
    // Patient retries (10, 30, 70, 130 s after a failure): the watcher starts over from a list after
    // 5 failures in a row by itself, and here the watch must be re-opened at its old position.
    retry: { initialMs: 10_000, maxMs: 60_000, factor: 2, jitter: 0 },
  });
  t.after(async () => {
    await watcher.stop();
    await r.close();
    await fetch(`${esUrl}/${n.prefix}-*`, { method: 'DELETE' });
    await sink.close();
  });

  const stored = async (executorId: string) => {
    await fetch(`${esUrl}/${n.executorsIndex}/_refresh`, { method: 'POST' });
    const res = await fetch(`${esUrl}/${n.executorsIndex}/_doc/${encodeURIComponent(`spark/${APP}/${executorId}/lifecycle`)}`);
    return res.ok ? ((await res.json()) as { _source: Record<string, unknown> })._source : undefined;
  };

  // The first list, in pages: the driver on its second page is stored as Kubernetes reported it.
  await watcher.listed;
  assert.deepEqual(events.filter((e) => e.event === 'podsListed').map((e) => e.pods), [4], 'one list of the 4 pods');
  const driver = await waitFor('driver lifecycle stored', () => stored('driver'), 60_000, 250);
  assert.deepEqual(
    [driver.reason, driver.exitCode, driver.pod, driver.node, driver.namespace],
    ['Completed', 0, 'z-driver', driverPod!.spec.nodeName, NS],
  );
  assert.equal(await stored('1'), undefined, 'a running executor has no lifecycle document yet');

  // A watch event: executor 1 is killed by the kernel at its memory limit.
  await kubectl(cluster, ['-n', NS, 'exec', 'a-exec-1', '-c', 'app', '--', '/usr/local/bin/node', '-e', "require('fs').writeFileSync('/tmp/go', '')"]);
  const oom = await waitFor('OOMKilled executor stored', () => stored('1'), 120_000, 250);
  assert.deepEqual([oom.reason, oom.exitCode], ['OOMKilled', 137]);
  assert.equal(events.filter((e) => e.event === 'podsListed').length, 1, 'stored from the watch, not a relist');

  // Cut off: executor 2 is deleted where the watcher cannot see it, and the API server restarts (its watch cache starts anew).
  await r.close();
  await kubectl(cluster, ['-n', NS, 'delete', 'pod', 'b-exec-2', '--wait=true']);
  await kube(['restart-component', 'kube-apiserver']);
  await r.open();

  const gone = await waitFor('executor deleted unseen stored', () => stored('2'), 240_000, 500);
  assert.equal(gone.reason, 'Deleted');
  assert.equal(gone.exitCode, undefined, 'no exit code is left anywhere for a pod deleted unseen');
  assert.equal(typeof gone.startedAt, 'number');
  assert.equal(typeof gone.finishedAt, 'number');
  const watchLog = events.filter((e) => e.event?.startsWith('podWatch') || e.event === 'podsListed');
  assert.ok(events.some((e) => e.event === 'podWatchExpired'), `the re-opened watch was answered 410 Gone: ${JSON.stringify(watchLog)}`);
  const relists = events.filter((e) => e.event === 'podsListed');
  assert.ok(relists.length >= 2 && relists.at(-1)!.vanished! >= 1, `a relist found the pod missing: ${JSON.stringify(relists)}`);

  // The relist also re-read the ended pods: still one document each, and none for the pod that is not ours.
  await fetch(`${esUrl}/${n.executorsIndex}/_refresh`, { method: 'POST' });
  const search = await (await fetch(`${esUrl}/${n.executorsIndex}/_search?size=20`)).json() as { hits: { hits: { _id: string; _source: { reason?: string } }[] } };
  assert.deepEqual(
    search.hits.hits.map((h) => `${h._id} ${h._source.reason}`).sort(),
    [`spark/${APP}/1/lifecycle OOMKilled`, `spark/${APP}/2/lifecycle Deleted`, `spark/${APP}/driver/lifecycle Completed`],
  );
});
