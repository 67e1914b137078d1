// K7 of SCENARIOS.md: kube-apiserver down for a minute during an app. Pods
// built from the repository's executor pod template (collector sidecar as
// deployed) end before, during and after the outage (deploy/local/kube
// stop-component / start-component kube-apiserver, same flags as `up`).
// Those that ended while the API server was down are deleted as soon as it
// answers again, as Spark's driver does with its ended executors, so the
// aggregator's pod watcher has only a short moment to see them. Every pod's
// end is recorded and served by the query API's app endpoint: as Kubernetes
// reported it, or, for a pod deleted before the watcher could read the end the
// kubelet reported after the outage, as a deletion found by the relist (no
// exit code is left anywhere then); never missed. Every line written is
// served exactly once, in order.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { installSparklogs, kubectl, REPO, testCluster, waitFor, type Installed } from './cluster.js';
import { api, assertExact, executorLines, NAMESPACE, podState, servedSeqs, signalWriter, templatePod, uniqueSuffix, type ApiExecutor } from './pods.js';

const exec = promisify(execFile);
const cluster = testCluster();
let sparklogs: Installed;

before(async () => {
  sparklogs = await installSparklogs(cluster);
});

/** Any HTTP answer from the API server through the kubernetes Service's cluster IP, as pods reach it (kube-proxy's route). */
const serviceAnswers = (ip: string) =>
  new Promise<true | undefined>((resolve) => {
    const req = request({ host: ip, port: 443, path: '/livez', rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });

const kube = (args: string[]) => exec('bash', [join(REPO, 'deploy/local/kube'), ...args], { cwd: REPO, maxBuffer: 16 << 20 });

interface Planned { id: string; name: string; lines: number; code: number; when: 'before' | 'during' | 'after'; steps: string[] }

test('K7: kube-apiserver down for a minute while pods end: the watcher recovers, every pod end is recorded and every line served exactly once', { timeout: 12 * 60_000 }, async (t) => {
  // Whatever happens, the node has its API server again for the tests after this one.
  t.after(() => kube(['start-component', 'kube-apiserver']).catch(() => undefined));
  const suffix = uniqueSuffix();
  const appId = `spark-k7${suffix}`;
  // Plus the API server's own shutdown and start: about a minute in all.
  const OUTAGE_MS = 35_000;
  const plan = (id: string, when: Planned['when'], code: number, steps: string[], lines: number): Planned => ({ id, name: `k7-${suffix}-${id}`, when, code, steps, lines });
  const pods: Planned[] = [
    // Ends before the outage.
    plan('1', 'before', 0, ['burst:200', 'exit:0'], 200),
    // End while the API server is down (the outage starts just after `go`).
    plan('2', 'during', 3, ['burst:100', 'wait:go', 'sleep:15000', 'burst:100', 'exit:3'], 200),
    plan('3', 'during', 0, ['burst:100', 'wait:go', 'sleep:25000', 'burst:100', 'exit:0'], 200),
    plan('4', 'during', 1, ['burst:100', 'wait:go', 'rate:300:100', 'exit:1'], 400),
    // Writes through the outage, ends when told after it.
    plan('5', 'after', 0, ['burst:100', 'wait:go', 'rate:400:100', 'wait:end', 'burst:100', 'exit:0'], 600),
  ];
  for (const p of pods) {
    await kubectl(cluster, ['apply', '-f', '-'], templatePod({ name: p.name, appId, executorId: p.id, plan: { steps: p.steps } }));
  }
  t.after(() => kubectl(cluster, ['-n', NAMESPACE, 'delete', 'pod', ...pods.map((p) => p.name), '--ignore-not-found', '--wait=false']).catch(() => undefined));
  const phase = async (name: string) => (await podState(cluster, name))?.status.phase;
  await waitFor('pod 1 ended, the others running', async () => {
    for (const p of pods) {
      const ph = await phase(p.name);
      if (p.when === 'before' ? ph !== 'Succeeded' : ph !== 'Running') return undefined;
    }
    return true;
  }, 4 * 60_000, 2000);
  const nodeName = (await podState(cluster, pods[0]!.name))!.spec.nodeName;
  const serviceIp = (await kubectl(cluster, ['-n', 'default', 'get', 'service', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  assert.equal(await serviceAnswers(serviceIp), true, `the API server answers through the kubernetes Service (${serviceIp}) before the outage`);

  // The outage: the pods that end during it are told to go on, then the API server stops.
  for (const p of pods.filter((x) => x.when !== 'before')) await signalWriter(cluster, p.name, 'go');
  const downAt = Date.now();
  await kube(['stop-component', 'kube-apiserver']);
  await assert.rejects(kubectl(cluster, ['get', 'pods', '-n', NAMESPACE, '--request-timeout=5s']), 'the API server does not answer');
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  await kube(['start-component', 'kube-apiserver']);
  const upAt = Date.now();
  t.diagnostic(`kube-apiserver down ${Math.round((upAt - downAt) / 1000)} s`);

  // The pods that ended meanwhile are deleted as Spark's driver deletes its ended executors: two as soon as the
  // API server answers (before the pods' own API access, through the kubernetes Service, is back), one once the
  // kubelet has reported its end.
  const during = pods.filter((p) => p.when === 'during');
  await kubectl(cluster, ['-n', NAMESPACE, 'delete', 'pod', ...during.slice(0, 2).map((p) => p.name), '--wait=false']);
  t.diagnostic(`pods ${during.slice(0, 2).map((p) => p.id).join(', ')} deleted ${Math.round((Date.now() - upAt) / 1000)} s after the API server was ready`);
  await waitFor('the end of the outage\'s third pod reported by the kubelet', async () => (['Succeeded', 'Failed'].includes((await phase(during[2]!.name)) ?? '') ? true : undefined), 2 * 60_000, 500);
  await kubectl(cluster, ['-n', NAMESPACE, 'delete', 'pod', during[2]!.name, '--wait=false']);
  t.diagnostic(`pod ${during[2]!.id} deleted ${Math.round((Date.now() - upAt) / 1000)} s after the API server was ready`);

  // Pods reach the API server through the kubernetes Service. The API server took its address out of the Service
  // as it stopped, and kube-proxy routes the Service again only once its own watch is back (client-go's backoff,
  // up to a minute here): until then every in-cluster client, the aggregator's included, is refused. That part
  // of the outage belongs to the cluster; the watcher's own recovery is timed from the moment pods can reach it.
  await waitFor('pods reach the API server through the kubernetes Service again (kube-proxy)', () => serviceAnswers(serviceIp), 5 * 60_000, 1000);
  const routedAt = Date.now();
  t.diagnostic(`the kubernetes Service routed again ${Math.round((routedAt - upAt) / 1000)} s after the API server was ready`);
  // The watcher is back once it has recorded the ends of the pods deleted first.
  const ends = async () => (await api<{ executors: ApiExecutor[] }>(sparklogs, `/api/v1/apps/${appId}`))!.executors;
  // The aggregator's own account of its watch, printed whatever the outcome.
  const watchEvents = async () => {
    const log = await kubectl(cluster, ['-n', 'sparklogs', 'logs', '-l', 'app.kubernetes.io/name=sparklogs-aggregator', '--tail=-1', '--prefix']).catch((e: Error) => e.message);
    return log.split('\n').filter((l) => /"event":"(podsListed|podWatchError|podWatchExpired|podWatchStarted|leaseLost|leaseAcquired|leaseError|podEnded)"/.test(l));
  };
  try {
    await waitFor('the watcher back: the ends of the first deleted pods recorded', async () => {
      const ex = await ends();
      return during.slice(0, 2).every((p) => ex.find((e) => e.executorId === p.id)?.lifecycle?.finishedAt !== undefined) ? true : undefined;
    }, 3 * 60_000, 1000);
  } catch (err) {
    for (const l of await watchEvents()) t.diagnostic(l.slice(0, 400));
    t.diagnostic(`executors: ${JSON.stringify(await ends().catch((e: Error) => e.message))}`);
    const restarts = await kubectl(cluster, ['-n', 'sparklogs', 'get', 'pods', '-l', 'app.kubernetes.io/name=sparklogs-aggregator', '-o', 'jsonpath={range .items[*]}{.metadata.name} restarts {.status.containerStatuses[*].restartCount}; {end}']).catch((e: Error) => e.message);
    t.diagnostic(`aggregator pods: ${restarts}`);
    throw err;
  }
  t.diagnostic(`the watcher recorded them ${Math.round((Date.now() - routedAt) / 1000)} s after the Service routed again`);
  // The last pod ends now; then every pod of the app is deleted.
  const last = pods.find((p) => p.when === 'after')!;
  await signalWriter(cluster, last.name, 'end');
  await waitFor('the last pod ended', async () => ((await phase(last.name)) === 'Succeeded' ? true : undefined), 3 * 60_000, 2000);
  await kubectl(cluster, ['-n', NAMESPACE, 'delete', 'pod', ...pods.map((p) => p.name), '--ignore-not-found', '--wait=true']);

  // Every line, exactly once, in order.
  await waitFor('every line served', async () => {
    for (const p of pods) if (servedSeqs(await executorLines(sparklogs, appId, p.id), p.name).length < p.lines) return undefined;
    return true;
  }, 3 * 60_000, 2000);
  await new Promise((r) => setTimeout(r, 5000));
  for (const p of pods) assertExact(servedSeqs(await executorLines(sparklogs, appId, p.id), p.name), p.lines, `pod ${p.name} (ended ${p.when} the outage)`);

  // Every pod's end, as Kubernetes reported it.
  let executors: ApiExecutor[] = [];
  try {
    await waitFor('every pod end recorded', async () => {
      executors = await ends();
      return pods.every((p) => executors.find((e) => e.executorId === p.id)?.lifecycle?.exitCode !== undefined) ? true : undefined;
    }, 2 * 60_000, 2000);
  } catch {
    /* said below, pod by pod */
  }
  const events = await watchEvents();
  let unseen = 0;
  t.diagnostic(`aggregator: ${events.length} watch events; ${events.filter((l) => l.includes('podsListed')).length} lists, ${events.filter((l) => l.includes('leaseLost')).length} leases lost, ${events.filter((l) => l.includes('podWatchError')).length} watch errors`);
  for (const p of pods) {
    const e = executors.find((x) => x.executorId === p.id);
    assert.ok(e, `executor ${p.id} is served`);
    assert.equal(e.pod, p.name);
    assert.equal(e.node, nodeName);
    assert.ok(e.lifecycle?.finishedAt !== undefined && e.status !== 'running', `executor ${p.id} (ended ${p.when} the outage): its end was missed: ${JSON.stringify(e.lifecycle)}; status ${e.status}`);
    if (p.when === 'during' && e.lifecycle.exitCode === undefined) {
      // Deleted before any watcher could see the end the kubelet reported once the API server was back: the
      // relist finds the pod gone and records its end as a deletion; no exit code is left to read anywhere,
      // so the query API says how it ended is unknown (query-api/routes/apps.ts).
      assert.equal(e.lifecycle.reason, 'Deleted', `executor ${p.id}: ${JSON.stringify(e.lifecycle)}`);
      assert.equal(e.status, 'unknown', `executor ${p.id}`);
      unseen++;
      continue;
    }
    assert.equal(e.lifecycle?.exitCode, p.code, `executor ${p.id} (ended ${p.when} the outage): its end was not recorded as Kubernetes reported it: ${JSON.stringify(e.lifecycle)}; status ${e.status}`);
    if (p.code === 0) {
      assert.equal(e.status, 'removed', `executor ${p.id}: ${JSON.stringify(e.lifecycle)}`);
      assert.equal(e.lifecycle?.reason, 'Completed', `executor ${p.id}`);
    } else {
      assert.equal(e.status, 'failed', `executor ${p.id}: ${JSON.stringify(e.lifecycle)}`);
      assert.equal(e.lifecycle?.reason, 'Error', `executor ${p.id}`);
    }
  }
  t.diagnostic(`${unseen} of the outage's ${pods.filter((p) => p.when === 'during').length} pods deleted before the watcher saw their exit code`);
});
