// The collector's node mode (collector/node/) against real files laid out as
// the kubelet lays them out (<root>/<namespace>_<pod>_<uid>/<container>/<n>.log,
// CRI records with P/F pieces, rotation to 0.log.<timestamp> and a gzipped
// copy) and the real Kafka. The pods' descriptions are handed in as the
// watch would store them (a map by uid): the real watch against the real API
// server is test/kube/node-mode.test.ts. Every line written arrives exactly
// once, under the identity its pod's labels give; a directory whose pod is
// described only after the directory was deleted still ships under that pod's
// identity; one never described ships under its directory's namespace/pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { kafkaKey } from '../../contract/identity.js';
import { names } from '../../contract/names.js';
import { createMetrics } from '../../collector/metrics.js';
import { loadNodeConfig } from '../../collector/node/config.js';
import { NodeCollector, parsePodDir } from '../../collector/node/node-collector.js';
import type { PodInfo } from '../../collector/node/pods.js';
import { createKafkaSink } from '../../collector/sinks/kafka.js';
import { testLog } from '../helpers/log.js';
import { testStack } from '../helpers/stack.js';
import { waitUntil } from '../helpers/wait.js';
import { BIN, tempDir, TopicReader } from './harness.js';

const NODE = 'node-a';

/** One CRI record per piece: the text split in `pieces` parts, all P but the last (F). */
function cri(stream: 'stdout' | 'stderr', text: string, pieces = 1): string {
  const size = Math.ceil(text.length / pieces);
  let out = '';
  for (let i = 0; i < pieces; i++) {
    const part = text.slice(i * size, (i + 1) * size);
    out += `2026-11-30T10:00:00.${String(i).padStart(9, '0')}Z ${stream} ${i === pieces - 1 ? 'F' : 'P'} ${part}\n`;
  }
  return out;
}

const marker = (pod: string, i: number) => `2026-11-30T10:00:00.000Z INFO [main] dev.sparklogs.Test: node-marker ${pod} seq=${i}`;

function sparkPod(ns: string, name: string, uid: string, appId: string, execId: string | undefined): PodInfo {
  return {
    uid,
    namespace: ns,
    name,
    labels: { 'spark-app-selector': appId, 'spark-role': execId === undefined ? 'driver' : 'executor', ...(execId ? { 'spark-exec-id': execId } : {}), 'spark-app-name': 'nodetest' },
    annotations: {},
    containers: [execId === undefined ? 'spark-kubernetes-driver' : 'spark-kubernetes-executor'],
  };
}

async function start(root: string, prefix: string, pods: Map<string, PodInfo>, extraEnv: Record<string, string> = {}, listedAt: () => number | undefined = () => 0) {
  const loaded = loadNodeConfig([], {
    SPARKLOGS_COLLECTOR_MODE: 'node',
    SPARKLOGS_NODE_NAME: NODE,
    SPARKLOGS_STATE_DIR: join(root, 'state'),
    SPARKLOGS_POD_LOG_DIR: join(root, 'pods'),
    SPARKLOGS_KAFKA_BROKERS: testStack().brokers.join(','),
    SPARKLOGS_PREFIX: prefix,
    SPARKLOGS_POLL_INTERVAL_MS: '50',
    SPARKLOGS_DISCOVER_INTERVAL_MS: '50',
    SPARKLOGS_FLUSH_TIMEOUT_MS: '300',
    SPARKLOGS_CHECKPOINT_INTERVAL_MS: '200',
    SPARKLOGS_RETRY_MAX_MS: '1000',
    ...extraEnv,
  });
  assert.ok(!loaded.help);
  const c = loaded.config;
  const sink = await createKafkaSink({ brokers: c.kafkaBrokers, clientId: 'node-mode-test', topic: names(prefix).linesTopic, compression: c.compression, requestTimeoutMs: c.requestTimeoutMs, log: testLog });
  // As the watch stores them: listed at start (listedAt 0), pods added by the test as events would add them.
  const nc = new NodeCollector({ config: c, sink, log: testLog, pods: { get: (uid) => pods.get(uid), listedAt }, metrics: (unread) => createMetrics(unread) });
  const running = nc.run();
  return {
    nc,
    async stop() {
      nc.stop();
      await running;
      await sink.close();
    },
  };
}

test('node mode: CRI pieces joined, rotation followed, compressed and temporary siblings left alone, identity from the pod labels', async () => {
  const { dir, cleanup } = await tempDir('node-cri');
  const reader = await TopicReader.create('node-cri');
  const uid = '0b6a6f1e-1111-4c3b-9a51-7d1c5e2f0001';
  const cdir = join(dir, 'pods', `spark-jobs_exec-1_${uid}`, 'spark-kubernetes-executor');
  await mkdir(cdir, { recursive: true });
  const pods = new Map([[uid, sparkPod('spark-jobs', 'exec-1', uid, 'spark-nodetest01', '1')]]);
  const long = 'x'.repeat(40_000);
  const c = await start(dir, reader.prefix, pods);
  try {
    // 0.log: markers 0..99, one long line in 4 pieces, stderr interleaved with a stdout partial.
    let text = '';
    for (let i = 0; i < 100; i++) text += cri('stdout', marker('exec-1', i));
    text += cri('stdout', `${marker('exec-1', 100)} ${long}`, 4);
    text += '2026-11-30T10:00:01.000000000Z stdout P ' + marker('exec-1', 101).slice(0, 30) + '\n';
    text += cri('stderr', marker('exec-1', 102));
    text += '2026-11-30T10:00:01.000000001Z stdout F ' + marker('exec-1', 101).slice(30) + '\n';
    await writeFile(join(cdir, '0.log'), text);
    await reader.waitForCount(103);
    // The kubelet's rotation: rename to 0.log.<timestamp>, the runtime reopens 0.log.
    await appendFile(join(cdir, '0.log'), cri('stdout', marker('exec-1', 103)));
    await rename(join(cdir, '0.log'), join(cdir, '0.log.20261130-100002'));
    await writeFile(join(cdir, '0.log'), Array.from({ length: 50 }, (_, k) => cri('stdout', marker('exec-1', 104 + k))).join(''));
    // What the kubelet's compression leaves behind: a .tmp while writing, then .gz. Never read.
    await writeFile(join(cdir, '0.log.20261130-090000.gz'), gzipSync(cri('stdout', 'must not be read')));
    await writeFile(join(cdir, '0.log.20261130-090000.tmp'), gzipSync(cri('stdout', 'must not be read either')));
    await reader.waitForCount(154);
    await new Promise((r) => setTimeout(r, 500));
    const got = reader.stored();
    const seqs = got.map((e) => Number(/node-marker exec-1 seq=(\d+)/.exec(e.m)?.[1] ?? -1));
    assert.deepEqual([...seqs].sort((a, b) => a - b), Array.from({ length: 154 }, (_, i) => i), 'every marker once');
    const joined = got.find((e) => e.m.includes('seq=100 '));
    assert.equal(joined?.m, `${marker('exec-1', 100)} ${long}`, 'the four P/F pieces are one line');
    assert.equal(got.find((e) => e.m.includes('seq=101'))?.m, marker('exec-1', 101), 'a stdout partial is not broken by a stderr record between its pieces');
    assert.equal(got.find((e) => e.m.includes('seq=102'))?.s, 'stderr');
    assert.ok(!got.some((e) => e.m.includes('must not be read')));
    const src = reader.batches[0]!.src;
    assert.deepEqual(
      { appType: src.appType, appId: src.appId, executorId: src.executorId, role: src.role, appName: src.appName, namespace: src.namespace, pod: src.pod, podUid: src.podUid, node: src.node, container: src.container },
      { appType: 'spark', appId: 'spark-nodetest01', executorId: '1', role: 'executor', appName: 'nodetest', namespace: 'spark-jobs', pod: 'exec-1', podUid: uid, node: NODE, container: 'spark-kubernetes-executor' },
    );
    assert.equal(kafkaKey(src), 'spark/spark-nodetest01/1');
    assert.equal(new Set(got.map((e) => e.fileId)).size, 2, 'the rotated file and the new one');
  } finally {
    await c.stop();
    await reader.stop();
    await cleanup();
  }
});

test('node mode: a pod directory deleted before its pod is described ships under that pod; one never described, or with labels that give no valid id, ships under its directory name; pods not ours are left out', async () => {
  const { dir, cleanup } = await tempDir('node-late');
  const reader = await TopicReader.create('node-late');
  const lateUid = '0b6a6f1e-2222-4c3b-9a51-7d1c5e2f0002';
  const unknownUid = '0b6a6f1e-3333-4c3b-9a51-7d1c5e2f0003';
  const otherUid = '0b6a6f1e-4444-4c3b-9a51-7d1c5e2f0004';
  const late = join(dir, 'pods', `spark-jobs_exec-late_${lateUid}`);
  const unknown = join(dir, 'pods', `spark-jobs_exec-gone_${unknownUid}`);
  const other = join(dir, 'pods', `kube-system_coredns-x_${otherUid}`);
  // Spark labels without an executor id on an executor: no valid identity, shipped under the directory name.
  const badUid = '0b6a6f1e-7777-4c3b-9a51-7d1c5e2f0007';
  const bad = join(dir, 'pods', `spark-jobs_exec-bad_${badUid}`);
  const badPod = sparkPod('spark-jobs', 'exec-bad', badUid, 'spark-nodetest02', '9');
  delete badPod.labels['spark-exec-id'];
  badPod.labels['spark-role'] = 'executor';
  const pods = new Map<string, PodInfo>([
    [otherUid, { uid: otherUid, namespace: 'kube-system', name: 'coredns-x', labels: { 'k8s-app': 'kube-dns' }, annotations: {}, containers: ['coredns'] }],
    [badUid, badPod],
  ]);
  const c = await start(dir, reader.prefix, pods, { SPARKLOGS_IDENTITY_WAIT_MS: '3000' });
  try {
    for (const [d, ctr, pod] of [[late, 'spark-kubernetes-executor', 'exec-late'], [unknown, 'main', 'exec-gone'], [other, 'coredns', 'coredns-x'], [bad, 'spark-kubernetes-executor', 'exec-bad']] as const) {
      await mkdir(join(d, ctr), { recursive: true });
      await writeFile(join(d, ctr, '0.log'), Array.from({ length: 40 }, (_, k) => cri('stdout', marker(pod, k))).join(''));
    }
    await waitUntil(() => c.nc.waiting === 2, { what: 'two pod containers waiting for their pod', timeoutMs: 30_000, state: () => `waiting ${c.nc.waiting}` });
    // The kubelet removes the directories with their pods; the held files stay readable.
    await rm(late, { recursive: true });
    await rm(unknown, { recursive: true });
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(reader.batches.every((b) => kafkaKey(b.src) === 'generic/spark-jobs/exec-bad'), 'nothing of the waiting pods is shipped before their identity is known');
    pods.set(lateUid, sparkPod('spark-jobs', 'exec-late', lateUid, 'spark-nodetest02', '7'));
    await reader.waitForCount(120);
    await new Promise((r) => setTimeout(r, 500));
    const got = reader.stored();
    assert.equal(got.length, 120);
    const bySrc = new Map<string, string[]>();
    for (const b of reader.batches) for (const l of b.lines) bySrc.set(kafkaKey(b.src), [...(bySrc.get(kafkaKey(b.src)) ?? []), l.m]);
    assert.deepEqual([...bySrc.keys()].sort(), ['generic/spark-jobs/exec-bad', 'generic/spark-jobs/exec-gone', 'spark/spark-nodetest02/7']);
    assert.equal(new Set(bySrc.get('spark/spark-nodetest02/7')).size, 40);
    assert.ok(bySrc.get('generic/spark-jobs/exec-gone')!.every((m) => m.includes('exec-gone')));
    assert.equal(c.nc.counts.unidentified, 2, 'exec-gone (never described) and exec-bad (labels without an executor id)');
    assert.equal(c.nc.counts.skipped, 1, 'the coredns pod is left out');
    // Both deleted directories read to their end: their units and checkpoints are let go.
    await waitUntil(() => !existsSync(join(dir, 'state', 'pods', `spark-jobs_exec-late_${lateUid}`)) && !existsSync(join(dir, 'state', 'pods', `spark-jobs_exec-gone_${unknownUid}`)), {
      what: 'the checkpoints of deleted pods removed',
      timeoutMs: 30_000,
    });
  } finally {
    await c.stop();
    await reader.stop();
    await cleanup();
  }
});

test('node mode: a restart resumes from the checkpoint under the persisted identity, even with the pod gone from the API', async () => {
  const { dir, cleanup } = await tempDir('node-restart');
  const reader = await TopicReader.create('node-restart');
  const uid = '0b6a6f1e-5555-4c3b-9a51-7d1c5e2f0005';
  const cdir = join(dir, 'pods', `spark-jobs_exec-r_${uid}`, 'spark-kubernetes-executor');
  await mkdir(cdir, { recursive: true });
  const pods = new Map([[uid, sparkPod('spark-jobs', 'exec-r', uid, 'spark-nodetest03', '3')]]);
  let c = await start(dir, reader.prefix, pods);
  try {
    await writeFile(join(cdir, '0.log'), Array.from({ length: 60 }, (_, k) => cri('stdout', marker('exec-r', k))).join(''));
    await reader.waitForCount(60);
    await c.stop();
    await appendFile(join(cdir, '0.log'), Array.from({ length: 40 }, (_, k) => cri('stdout', marker('exec-r', 60 + k))).join(''));
    c = await start(dir, reader.prefix, new Map());
    await reader.waitForCount(100);
    await new Promise((r) => setTimeout(r, 500));
    const got = reader.stored();
    assert.equal(got.length, 100);
    assert.ok(reader.batches.every((b) => kafkaKey(b.src) === 'spark/spark-nodetest03/3'));
  } finally {
    await c.stop();
    await reader.stop();
    await cleanup();
  }
});

test('node mode: before the first list of the node\'s pods nothing ships under a directory name, however long it takes', async () => {
  const { dir, cleanup } = await tempDir('node-unlisted');
  const reader = await TopicReader.create('node-unlisted');
  const uid = '0b6a6f1e-6666-4c3b-9a51-7d1c5e2f0006';
  const cdir = join(dir, 'pods', `spark-jobs_exec-u_${uid}`, 'spark-kubernetes-executor');
  await mkdir(cdir, { recursive: true });
  await writeFile(join(cdir, '0.log'), Array.from({ length: 20 }, (_, k) => cri('stdout', marker('exec-u', k))).join(''));
  let listed: number | undefined;
  const c = await start(dir, reader.prefix, new Map(), { SPARKLOGS_IDENTITY_WAIT_MS: '200' }, () => listed);
  try {
    await waitUntil(() => c.nc.waiting === 1, { what: 'the pod container waiting', timeoutMs: 30_000 });
    // Ten identity waits with the API not answering: still waiting, nothing sent.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(c.nc.waiting, 1);
    assert.equal(reader.events().length, 0);
    listed = Date.now();
    await reader.waitForCount(20);
    assert.ok(reader.batches.every((b) => kafkaKey(b.src) === 'generic/spark-jobs/exec-u'));
    assert.equal(c.nc.counts.unidentified, 1);
  } finally {
    await c.stop();
    await reader.stop();
    await cleanup();
  }
});

test('node mode: pod directory names parsed; settings checked with clear errors', () => {
  assert.deepEqual(parsePodDir('spark-jobs_exec-1_0b6a6f1e-1111-4c3b-9a51-7d1c5e2f0001'), { namespace: 'spark-jobs', pod: 'exec-1', uid: '0b6a6f1e-1111-4c3b-9a51-7d1c5e2f0001' });
  assert.equal(parsePodDir('not-a-pod-dir'), undefined);
  if (!existsSync(BIN)) return; // the built binary (npm test builds it)
  const missing = spawnSync(process.execPath, [BIN, '--mode', 'node', '--state-dir', '/tmp/x'], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /node \(--node, SPARKLOGS_NODE or SPARKLOGS_NODE_NAME\): required/);
  const bad = spawnSync(process.execPath, [BIN], { env: { PATH: process.env.PATH ?? '', SPARKLOGS_COLLECTOR_MODE: 'daemon' }, encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /expected "sidecar" or "node", got "daemon"/);
  const wait = spawnSync(process.execPath, [BIN, '--mode=node', '--node', 'n', '--state-dir', '/tmp/x', '--identity-wait-ms=-1'], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  assert.equal(wait.status, 2);
  assert.match(wait.stderr, /identityWaitMs/);
});
