// K5 of SCENARIOS.md: Kafka unreachable from the cluster past a pod's grace
// period while the pod is deleted. The fault is a real one: an iptables rule
// on the node drops every packet from the pod network to Kafka's listener for
// the cluster, so the collector sidecar's requests (and the aggregator's)
// time out. The pod, built from the repository's executor pod template
// (sidecar, spool mount and shutdown settings as deployed), has lines
// already acknowledged, lines read but never acknowledged, and lines written
// on SIGTERM. Just before its deadline the collector copies what Kafka has
// not acknowledged to the node's spool; once Kafka is reachable again the
// sparklogs-spool DaemonSet ships it. Every line written is served exactly
// once, in order.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { installSparklogs, kubectl, REPO, testCluster, waitFor, type Installed } from './cluster.js';
import { assertExact, executorLines, NAMESPACE, podState, servedSeqs, signalWriter, templatePod, uniqueSuffix } from './pods.js';

const exec = promisify(execFile);
const cluster = testCluster();
let sparklogs: Installed;

before(async () => {
  sparklogs = await installSparklogs(cluster);
});

// The spool hostPath of the pod templates.
const SPOOL = '/var/lib/sparklogs/spool';

/** Spool entries (complete ones: no dot-name) on the node whose manifest names the app. */
function spoolEntries(appId: string): string[] {
  if (!existsSync(SPOOL)) return [];
  return readdirSync(SPOOL).filter((n) => !n.startsWith('.')).filter((n) => {
    try {
      return (JSON.parse(readFileSync(join(SPOOL, n, 'manifest.json'), 'utf8')) as { identity: { appId?: string } }).identity.appId === appId;
    } catch {
      return false;
    }
  });
}

test('K5: a pod deleted while Kafka is unreachable past its grace period: its unsent lines go to the node\'s spool and are served later, exactly once, in order', { timeout: 8 * 60_000 }, async (t) => {
  const [kafkaHost, kafkaPort] = cluster.kafkaClusterBrokers.split(',')[0]!.split(':');
  // The node's share of the pod range: where every pod's traffic comes from.
  const podCidr = (await kubectl(cluster, ['get', 'nodes', '-o', 'jsonpath={.items[0].spec.podCIDR}'])).trim();
  assert.match(podCidr, /^\d+\.\d+\.\d+\.\d+\/\d+$/, 'the node has a pod range');
  const rule = ['INPUT', '-s', podCidr, '-d', kafkaHost!, '-p', 'tcp', '--dport', kafkaPort!, '-m', 'comment', '--comment', 'sparklogs-test-k5', '-j', 'DROP'];
  const unblock = async () => {
    // Every copy of the rule, also one left by an earlier run cut short.
    for (let i = 0; i < 10; i++) {
      try {
        await exec('iptables', ['-D', ...rule]);
      } catch {
        return;
      }
    }
  };
  t.after(unblock);
  await unblock();

  const suffix = uniqueSuffix();
  const appId = `spark-k5${suffix}`;
  const name = `k5-${suffix}`;
  const A = 300;
  const B = 400;
  const TERM = 100;
  // A at once; B once the test says so (Kafka is unreachable by then); TERM on SIGTERM.
  await kubectl(cluster, ['apply', '-f', '-'], templatePod({ name, appId, executorId: '1', plan: { steps: [`burst:${A}`, 'wait:go-b', `burst:${B}`], termLines: TERM } }));
  t.after(() => kubectl(cluster, ['-n', NAMESPACE, 'delete', 'pod', name, '--ignore-not-found', '--wait=false']).catch(() => undefined));
  const pod = await waitFor('the pod running', async () => {
    const p = await podState(cluster, name);
    return p?.status.phase === 'Running' ? p : undefined;
  }, 4 * 60_000);
  // The collector's own account (its log goes with the pod): kept for a failure's diagnosis.
  let collectorLog = '';
  const follow = spawn(cluster.kubectlPath, ['-n', NAMESPACE, 'logs', '-f', name, '-c', 'sparklogs-collector'], { env: { ...process.env, KUBECONFIG: cluster.kubeconfig } });
  follow.stdout.on('data', (d) => (collectorLog += d));
  follow.stderr.on('data', (d) => (collectorLog += d));
  t.after(() => {
    if (follow.exitCode === null) follow.kill();
    const dir = join(REPO, 'test-artifacts', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'collector.log'), collectorLog);
  });
  const events = () => collectorLog.split('\n').filter((l) => /"event":"(shutdown|spool|sendError|kafka)/i.test(l)).map((l) => l.slice(0, 400)).join('\n');
  const grace = Number((await kubectl(cluster, ['-n', NAMESPACE, 'get', 'pod', name, '-o', 'jsonpath={.spec.terminationGracePeriodSeconds}'])).trim());

  // The pipeline works: the first lines are served before the fault.
  await waitFor('the first lines served', async () => ((servedSeqs(await executorLines(sparklogs, appId, '1'), name).length === A) ? true : undefined), 4 * 60_000, 2000);

  // The fault: Kafka's cluster listener unreachable from every pod (the collector, the spool, the aggregator).
  await exec('iptables', ['-I', ...rule.slice(0, 1), '1', ...rule.slice(1)]);
  const faultAt = Date.now();
  await signalWriter(cluster, name, 'go-b');
  // Let the collector read B and try to send it (it cannot).
  await new Promise((r) => setTimeout(r, 5000));

  // The pod is deleted as Spark or a user deletes it (default grace from the template).
  const deleted = Date.now();
  await kubectl(cluster, ['-n', NAMESPACE, 'delete', 'pod', name, '--wait=false']);
  await waitFor('the pod gone', async () => ((await podState(cluster, name)) === undefined ? true : undefined), (grace + 60) * 1000);
  t.diagnostic(`pod gone ${Math.round((Date.now() - deleted) / 1000)} s after its deletion (grace ${grace} s)`);
  // The collector spooled before its deadline: the entry waits on the node while Kafka is unreachable.
  const entries = spoolEntries(appId);
  assert.equal(entries.length, 1, `one spool entry for the pod on the node (${SPOOL}): ${JSON.stringify(readdirSync(SPOOL))}; the collector said:\n${events()}`);
  const counters = (await exec('iptables', ['-L', 'INPUT', '-v', '-x', '-n'])).stdout.split('\n').find((l) => l.includes('sparklogs-test-k5'));
  const dropped = Number(counters?.trim().split(/\s+/)[0] ?? 0);
  assert.ok(dropped > 0, `the rule dropped pod traffic to Kafka: ${counters}`);
  // Nothing written after the fault has been served: the spool is the only way left.
  assert.equal(servedSeqs(await executorLines(sparklogs, appId, '1'), name).length, A, 'only the lines sent before the fault are served during it');

  // Past the grace period the fault stands a little longer, then Kafka is reachable again.
  const waitMore = grace * 1000 + 10_000 - (Date.now() - deleted);
  if (waitMore > 0) await new Promise((r) => setTimeout(r, waitMore));
  await unblock();
  t.diagnostic(`Kafka unreachable from pods for ${Math.round((Date.now() - faultAt) / 1000)} s, ${dropped} packets dropped`);

  // The node's spool ships the entry, and removes it once Kafka acknowledged all of it.
  await waitFor('the spool entry shipped and removed', async () => (spoolEntries(appId).length === 0 ? true : undefined), 4 * 60_000, 2000);
  const total = A + B + TERM;
  await waitFor('every line served', async () => (servedSeqs(await executorLines(sparklogs, appId, '1'), name).length >= total ? true : undefined), 4 * 60_000, 2000);
  // A little longer, so that a late duplicate would be seen.
  await new Promise((r) => setTimeout(r, 5000));
  const lines = await executorLines(sparklogs, appId, '1');
  assertExact(servedSeqs(lines, name), total, 'the deleted pod\'s lines');
  assert.ok(lines.every((l) => l.pod === name && l.node === pod.spec.nodeName), 'every line names the pod and node');
});
