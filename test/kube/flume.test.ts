// Real Flume on the real node: the agent deployed with deploy/flume as it is,
// its flume.conf swapped for the test's (test/e2e/flume-agent, an overlay a
// user would write the same way): an exec source of numbered events and
// Flume's logger sink. The agent's pod is deleted and its Deployment replaces
// it; then the Deployment is scaled to zero. After every pod is gone, the
// query API and the CLI serve each pod's log exactly as it printed it on its
// console (every event once, in order), under the agent's name as app id.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, consoleEvents, executorLines, followLogs, NAMESPACE, servedEvents, sparklogsCli, watchPods, type ApiExecutor, type ApiLine, type Followed } from './pods.js';
import { describeNamespace, installSparklogs, kubectl, REPO, testCluster, waitFor, type Installed } from './cluster.js';

const cluster = testCluster();
let sparklogs: Installed;

before(async () => {
  sparklogs = await installSparklogs(cluster);
});

const AGENT = 'flume-agent';
const OVERLAY = join(REPO, 'test/e2e/flume-agent');
// SPARKLOGS_FLUME_EVENTS of the overlay.
const EVENTS = 300;
// Flume's logger sink: `Event: { headers:{} body: 31 37 2F 33 30 30    17/300 }`.
const EVENT = /^Event: \{ headers:\{\} body: .* (\d+)\/(\d+) \}$/;
// deploy/flume/log4j2.xml's console: %d (%t) [%p - %l] %m%n
const FLUME_CONSOLE = /^(?<at>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) \((?<thread>.*?)\) \[(?<level>[A-Z]+) - (?<where>\S+)\] (?<msg>.*)$/;
const CONTINUATION = /^(?:\s+at |Caused by:|\s*\.\.\. \d+ more)/;

const eventsIn = (text: string) => text.split('\n').filter((l) => l.includes('Event: { headers:')).length;

function eventSeqs(lines: ApiLine[]): number[] {
  return lines.flatMap((l) => {
    const m = EVENT.exec(l.message);
    if (!m) return [];
    assert.equal(Number(m[2]), EVENTS, l.message);
    return [Number(m[1])];
  });
}

test('Flume 1.11 agent from deploy/flume: every event of every pod served once, in order, after the pods are gone; the deleted pods\' ends as Kubernetes reported them', { timeout: 15 * 60_000 }, async (t) => {
  const artifacts = join(REPO, 'test-artifacts', `e2e-flume-${Date.now().toString(36)}`);
  mkdirSync(artifacts, { recursive: true });

  const pods = new Map<string, { node?: string; follow: Followed }>();
  const watcher = watchPods(cluster, NAMESPACE, `app.kubernetes.io/name=${AGENT}`, (p) => {
    if (!pods.has(p.metadata.name)) pods.set(p.metadata.name, { node: p.spec.nodeName, follow: followLogs(cluster, NAMESPACE, p.metadata.name, 'flume') });
    else if (p.spec.nodeName) pods.get(p.metadata.name)!.node = p.spec.nodeName;
  });
  t.after(async () => {
    await watcher.stop();
    for (const p of pods.values()) p.follow.stop();
    await kubectl(cluster, ['delete', '-k', OVERLAY, '--ignore-not-found', '--wait=false']).catch(() => undefined);
  });

  // Deployed as deploy/README.md step 8 says, with the test's agent.
  await kubectl(cluster, ['apply', '-k', OVERLAY]);
  const first = await waitFor('the agent logging events', async () => {
    const p = [...pods].find(([, x]) => eventsIn(x.follow.text()) >= 100);
    return p?.[0];
  }, 5 * 60_000, 1000).catch(async (err) => assert.fail(`${(err as Error).message}\n${await describeNamespace(cluster, NAMESPACE)}`));

  // Its pod deleted mid-stream (default grace: Flume stops on SIGTERM); the Deployment starts another,
  // whose agent runs its source from the start: events 1..N again, all of them this time.
  await kubectl(cluster, ['-n', NAMESPACE, 'delete', 'pod', first, '--wait=true']);
  const second = await waitFor('the replacement agent through all its events', async () => {
    const p = [...pods].find(([name, x]) => name !== first && x.follow.text().includes(` ${EVENTS}/${EVENTS} }`));
    return p?.[0];
  }, 5 * 60_000, 1000);
  await kubectl(cluster, ['-n', NAMESPACE, 'scale', 'deployment', AGENT, '--replicas=0']);
  await waitFor('every agent pod gone', async () => {
    const left = await kubectl(cluster, ['-n', NAMESPACE, 'get', 'pods', '-l', `app.kubernetes.io/name=${AGENT}`, '-o', 'name']);
    return left.trim() === '' ? true : undefined;
  }, 5 * 60_000, 2000);
  await watcher.stop();
  await Promise.all([...pods.values()].map((p) => p.follow.ended));
  writeFileSync(join(artifacts, 'consoles.json'), JSON.stringify(Object.fromEntries([...pods].map(([n, p]) => [n, p.follow.text()])), null, 1));
  assert.deepEqual([...pods.keys()].sort(), [first, second].sort(), 'the first agent pod and its replacement');

  // Served once the pipeline caught up, then a little longer so that a late duplicate would be seen.
  const printed = new Map([...pods].map(([name, p]) => [name, consoleEvents(p.follow.text(), FLUME_CONSOLE)]));
  const served = new Map<string, ApiLine[]>();
  await waitFor('every pod\'s events served', async () => {
    for (const name of pods.keys()) served.set(name, await executorLines(sparklogs, AGENT, name));
    return [...pods.keys()].every((n) => served.get(n)!.length >= printed.get(n)!.length) ? true : undefined;
  }, 3 * 60_000, 3000).catch(() => undefined);
  await new Promise((res) => setTimeout(res, 5000));
  for (const name of pods.keys()) served.set(name, await executorLines(sparklogs, AGENT, name));
  writeFileSync(join(artifacts, 'served.json'), JSON.stringify(Object.fromEntries(served), null, 1));

  for (const name of pods.keys()) {
    assert.ok(printed.get(name)!.length > 20, `${name} printed its log (${printed.get(name)!.length} events)`);
    assert.deepEqual(servedEvents(served.get(name)!), printed.get(name), `${name}: served events vs its console`);
  }
  // The numbered events: the first pod's from 1 until its deletion, the second's 1..N.
  const firstSeqs = eventSeqs(served.get(first)!);
  assert.ok(firstSeqs.length >= 100 && firstSeqs.length < EVENTS, `the deleted agent's events: ${firstSeqs.length}`);
  assert.deepEqual(firstSeqs, Array.from({ length: firstSeqs.length }, (_, i) => i + 1), `${first}: events in order`);
  assert.deepEqual(eventSeqs(served.get(second)!), Array.from({ length: EVENTS }, (_, i) => i + 1), `${second}: events in order`);

  // Level, logger and thread from the layout of deploy/flume/log4j2.xml; stack traces whole.
  const all = [...served.values()].flat();
  assert.ok(all.every((l) => /^(TRACE|DEBUG|INFO|WARN|ERROR)$/.test(l.level ?? '') && l.logger && l.thread), 'every event has its level, logger and thread');
  const sink = all.filter((l) => EVENT.test(l.message));
  assert.ok(sink.every((l) => l.level === 'INFO' && l.logger?.startsWith('org.apache.flume.sink.LoggerSink') && l.thread === 'SinkRunner-PollingRunner-DefaultSinkProcessor'), `the sink's events: ${JSON.stringify(sink.slice(0, 1))}`);
  assert.deepEqual(all.filter((l) => CONTINUATION.test(l.message)).map((l) => l.message.slice(0, 120)), [], 'stack trace lines served as events');
  // The failing sink's deliveries: each an ERROR event with its whole trace and causes.
  for (const name of pods.keys()) {
    const failed = served.get(name)!.filter((l) => l.message.startsWith('Unable to deliver event. Exception follows.'));
    assert.ok(failed.length >= 2, `${name}: the failing sink's errors (${failed.length})`);
    for (const l of failed) {
      assert.equal(l.level, 'ERROR');
      assert.ok(l.logger?.startsWith('org.apache.flume.SinkRunner'), l.logger);
      assert.equal(l.exception, 'org.apache.flume.EventDeliveryException', l.message.slice(0, 300));
      assert.match(l.message, /\n\tat org\.apache\.flume\.sink\.AbstractRpcSink\.process/);
      assert.match(l.message, /\nCaused by: /);
    }
  }

  // The app under the agent's name; each pod an executor, ended by its deletion.
  const app = (await api<{ appType: string; executors: ApiExecutor[] }>(sparklogs, `/api/v1/apps/${AGENT}`))!;
  writeFileSync(join(artifacts, 'app.json'), JSON.stringify(app, null, 2));
  assert.equal(app.appType, 'flume');
  for (const [name, p] of pods) {
    const e = app.executors.find((x) => x.executorId === name);
    assert.ok(e, `${name} is an executor of ${AGENT}`);
    assert.equal(e.role, 'agent');
    assert.equal(e.pod, name);
    assert.equal(e.node, p.node);
    assert.equal(e.lifecycle?.reason, 'Deleted', `${name}: ${JSON.stringify(e.lifecycle)}`);
    assert.equal(e.status, 'removed', `${name}: ${JSON.stringify(e)}`);
  }

  // The CLI says the same.
  const apps = await sparklogsCli(sparklogs, ['apps', '--type', 'flume', '--prefix', AGENT]);
  assert.match(apps, new RegExp(`^${AGENT}\\s+flume\\s`, 'm'), 'sparklogs apps --type flume lists the agent');
  for (const name of pods.keys()) {
    const log = await sparklogsCli(sparklogs, ['logs', AGENT, '-e', name]);
    assert.equal(log.split('\n').filter((l) => l.includes('Event: { headers:')).length, eventSeqs(served.get(name)!).length, `sparklogs logs ${AGENT} -e ${name} prints every event`);
  }
});
