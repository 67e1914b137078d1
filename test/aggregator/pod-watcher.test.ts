// The pod watcher's I/O: a small HTTP server that speaks the Kubernetes
// list/watch wire format (paged PodList, newline-delimited watch events,
// 410 Gone as an ERROR event) stands in for the API server, which this
// machine does not have; Elasticsearch is the real one. Pins: a paged first
// list stores the pods that already ended, a watch event stores a new end,
// a 410 makes it relist, and a pod deleted while no watch was open is found
// missing by that relist and stored as Deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../../contract/log.js';
import { createEsSink } from '../../aggregator/sinks/elasticsearch.js';
import { startPodWatcher } from '../../aggregator/sources/kubernetes.js';
import type { Pod } from '../../aggregator/transforms/pod-lifecycle.js';
import { testStack, uniqueNames } from '../helpers/stack.js';

const NS = 'spark-jobs';
const APP = 'spark-5b1e0c4d9a7f4e21b3c8d6e0f1a2b3c4';
const tpl = (f: string) => parse(readFileSync(new URL(`../../deploy/spark/${f}`, import.meta.url), 'utf8')) as Pod;

function sparkPod(executorId: string, state: object): Pod & { metadata: { resourceVersion?: string } } {
  const driver = executorId === 'driver';
  const t = tpl(driver ? 'driver-pod-template.yaml' : 'executor-pod-template.yaml');
  const main = driver ? 'spark-kubernetes-driver' : 'spark-kubernetes-executor';
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: `wc-${executorId}`, namespace: NS, uid: `uid-${executorId}`,
      labels: { ...t.metadata?.labels, 'spark-app-selector': APP, 'spark-role': driver ? 'driver' : 'executor', 'spark-app-name': 'wc', ...(driver ? {} : { 'spark-exec-id': executorId }) },
    },
    spec: { ...t.spec, nodeName: 'node-1', restartPolicy: 'Never', containers: [{ name: main }] },
    status: { phase: 'Running', containerStatuses: [{ name: main, state }] },
  } as Pod & { metadata: { resourceVersion?: string } };
}

/** Just enough of the API server: GET pods (paged list, or watch=true). */
function fakeApiServer() {
  let rv = 100;
  const pods = new Map<string, Pod & { metadata: { resourceVersion?: string } }>();
  const watchers = new Set<ServerResponse>();
  const requests: string[] = [];
  const put = (p: Pod & { metadata: { resourceVersion?: string } }) => {
    p.metadata.resourceVersion = String(++rv);
    pods.set(p.metadata.uid!, p);
    return p;
  };
  const server = createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    requests.push(`${u.pathname}?${u.searchParams}`);
    if (u.pathname !== `/api/v1/namespaces/${NS}/pods`) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound' }));
      return;
    }
    if (u.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      watchers.add(res);
      res.on('close', () => watchers.delete(res));
      return;
    }
    const limit = Number(u.searchParams.get('limit') ?? 500);
    const from = Number(u.searchParams.get('continue') ?? 0);
    const all = [...pods.values()];
    const items = all.slice(from, from + limit);
    const more = from + limit < all.length;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(rv), ...(more ? { continue: String(from + limit) } : {}) }, items }));
  });
  return {
    server, pods, requests, put,
    event(type: string, object: object) {
      for (const w of watchers) w.write(`${JSON.stringify({ type, object })}\n`);
    },
    watching: () => watchers.size,
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('pod watcher: paged list, watch events, 410 Gone relist, pods deleted unseen', async (t) => {
  const { esUrl } = testStack();
  const n = uniqueNames('podwatch');
  const sink = createEsSink({ url: esUrl, names: n, requestTimeoutMs: 10_000 });
  await sink.installTemplates();
  const api = fakeApiServer();
  await new Promise<void>((r) => api.server.listen(0, '127.0.0.1', r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'not-a-real-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }],
    currentContext: 'fake',
  });

  api.put(sparkPod('driver', { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2026-11-21T09:46:00Z', finishedAt: '2026-11-21T09:50:00Z' } }));
  api.put(sparkPod('1', { running: { startedAt: '2026-11-21T09:46:05Z' } }));
  api.put(sparkPod('2', { running: { startedAt: '2026-11-21T09:46:06Z' } }));
  api.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'coredns-x', namespace: NS, uid: 'uid-dns' }, spec: { containers: [{ name: 'coredns' }] }, status: { phase: 'Running' } } as never);

  const watcher = startPodWatcher({
    namespaces: [NS], sink, names: n, log: createLogger('test', 'silent'), kubeConfig: kc, pageSize: 2,
    retry: { initialMs: 50, maxMs: 500, factor: 2, jitter: 0 },
  });
  t.after(async () => {
    await watcher.stop();
    await new Promise((r) => api.server.close(r));
    api.server.closeAllConnections();
    await fetch(`${esUrl}/${n.prefix}-*`, { method: 'DELETE' });
    await sink.close();
  });

  const get = async (executorId: string) => {
    await fetch(`${esUrl}/${n.executorsIndex}/_refresh`, { method: 'POST' });
    const r = await fetch(`${esUrl}/${n.executorsIndex}/_doc/${encodeURIComponent(`spark/${APP}/${executorId}/lifecycle`)}`);
    if (!r.ok) return undefined;
    return (await r.json()) as { _source: Record<string, unknown>; _version: number };
  };

  await watcher.listed;
  assert.equal(api.requests.filter((r) => r.includes('limit=2')).length, 2, 'four pods listed in two pages of two');
  const driver = await until('driver lifecycle stored', () => get('driver'));
  assert.deepEqual([driver._source.reason, driver._source.exitCode, driver._source.pod, driver._source.node], ['Completed', 0, 'wc-driver', 'node-1']);
  assert.ok(driver._version >= Date.now() - 60_000 && driver._version <= Date.now(), 'version = observation time');
  assert.equal(await get('1'), undefined, 'a running executor has no lifecycle document yet');

  await until('watch open', async () => (api.watching() > 0 ? true : undefined));
  assert.ok(api.requests.some((r) => r.includes('watch=true') && r.includes('resourceVersion=104') && r.includes('allowWatchBookmarks=true')), `the watch starts at the list's resourceVersion: ${api.requests.join(' ')}`);
  api.event('MODIFIED', api.put(sparkPod('1', { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: '2026-11-21T09:46:05Z', finishedAt: '2026-11-21T09:48:00Z' } })));
  const oom = await until('OOMKilled executor stored', () => get('1'));
  assert.deepEqual([oom._source.reason, oom._source.exitCode, oom._source.finishedAt], ['OOMKilled', 137, Date.parse('2026-11-21T09:48:00Z')]);
  api.event('BOOKMARK', { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '200' } });

  // Executor 2 is deleted while the watch is broken: the server then says its position is too old.
  api.pods.delete('uid-2');
  const lists = api.requests.filter((r) => !r.includes('watch=true')).length;
  api.event('ERROR', { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version: 104 (150)' });
  await until('relisted after 410', async () => (api.requests.filter((r) => !r.includes('watch=true')).length > lists ? true : undefined));
  const gone = await until('executor deleted unseen stored', () => get('2'));
  assert.equal(gone._source.reason, 'Deleted');
  assert.equal(gone._source.exitCode, undefined);
  assert.equal(gone._source.startedAt, Date.parse('2026-11-21T09:46:06Z'));
  assert.ok(typeof gone._source.finishedAt === 'number');
  await until('watch re-opened', async () => (api.watching() > 0 ? true : undefined));

  // A newer observation of the same facts overwrites; nothing was written for the pod that is not ours.
  const search = await (await fetch(`${esUrl}/${n.executorsIndex}/_search?size=20`)).json() as { hits: { hits: { _id: string }[] } };
  assert.deepEqual(search.hits.hits.map((h) => h._id).sort(), [`spark/${APP}/1/lifecycle`, `spark/${APP}/2/lifecycle`, `spark/${APP}/driver/lifecycle`]);
});
