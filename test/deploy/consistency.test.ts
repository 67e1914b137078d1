// The manifests agree with the code and with each other: every SPARKLOGS_*
// variable is an option the service reads, every container would start with
// its config, ports / probes / selectors line up, replicas never exceed
// partitions, and every collector sidecar can see the files it is told to read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { K8sObject } from './k8s-schema.js';
import type { CollectorConfig } from '../../collector/config.js';
import { resolveIdentity } from '../../collector/identity.js';
import { DEPLOY, isKustomization, loadYaml, rel, renderKustomization, topKustomizations, yamlFiles } from './manifests.js';
import {
  ENV_PREFIX, NODE_COLLECTOR, allContainers, applied, find, loadAs, optionEnvNames, podSites, resolveEnv, serviceOf, servesPath,
  type Container, type PodSite, type PodSpec,
} from './pods.js';
import { jobsNamespace } from './spark-conf.js';

const tops = topKustomizations();
const objects = applied();
const inKustomizations = new Set(tops.flatMap((d) => renderKustomization(d).files));
const templates = yamlFiles().filter((f) => !inKustomizations.has(f) && !isKustomization(f));

const sites: PodSite[] = [
  ...tops.flatMap((d) => podSites(renderKustomization(d).objects, rel(d))),
  ...templates.flatMap((f) => podSites(loadYaml(f) as K8sObject[], rel(f)).map((s) => ({ ...s, namespace: jobsNamespace() }))),
];
const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');

const labelsMatch = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

function portNumber(c: Container, port: unknown): number | undefined {
  return typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
}

test('every sparklogs container sets only real options and would start with its config', () => {
  let checked = 0;
  for (const site of sites) {
    for (const c of allContainers(site.spec)) {
      const svc = serviceOf(c);
      if (!svc) continue;
      checked++;
      const at = `${site.where} container ${c.name}`;
      const { env, problems } = resolveEnv(c, site.namespace, objects);
      assert.deepEqual(problems, [], at);
      const known = optionEnvNames(svc);
      const unknown = Object.keys(env).filter((n) => n.startsWith(ENV_PREFIX) && !known.has(n));
      assert.deepEqual(unknown, [], `${at}: not options of ${svc.program}`);
      assert.doesNotThrow(() => loadAs(svc, c, env), at);
    }
  }
  assert.ok(checked >= 6, `only ${checked} sparklogs containers found`);
});

test('secrets the manifests read but do not create are created in deploy/README.md', () => {
  for (const site of sites) {
    for (const c of allContainers(site.spec)) {
      for (const s of resolveEnv(c, site.namespace, objects).externalSecrets) {
        assert.match(readme, new RegExp(`create secret generic ${s.name}\\b[^\\n]*--from-literal=${s.key}=`), `${site.where}: Secret ${s.name} key ${s.key}`);
      }
    }
  }
});

test('ports and probes are the ones the services listen on and serve', () => {
  let probes = 0;
  for (const site of sites) {
    for (const c of allContainers(site.spec)) {
      const svc = serviceOf(c);
      if (!svc) continue;
      const config = loadAs(svc, c, resolveEnv(c, site.namespace, objects).env);
      const listens = (config.port ?? config.metricsPort) as number | undefined;
      for (const p of c.ports ?? []) assert.equal(p.containerPort, listens, `${site.where} ${c.name}: containerPort`);
      if (typeof config.host === 'string') assert.ok(!['127.0.0.1', 'localhost', '::1'].includes(config.host), `${site.where} ${c.name}: listens on loopback only`);
      for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
        const get = (c[kind] as { httpGet?: { path: string; port: unknown } } | undefined)?.httpGet;
        if (!get) continue;
        probes++;
        assert.equal(portNumber(c, get.port), listens, `${site.where} ${c.name} ${kind} port`);
        assert.ok(servesPath(svc, get.path), `${site.where} ${c.name} ${kind}: ${svc.dir}/ serves no ${get.path}`);
      }
    }
  }
  assert.ok(probes >= 6);
});

test('sparklogs containers run non-root on a read-only root filesystem', () => {
  for (const site of sites) {
    for (const c of allContainers(site.spec)) {
      if (!serviceOf(c)) continue;
      const sc = { ...(site.spec.securityContext ?? {}), ...(c.securityContext ?? {}) } as Record<string, unknown>;
      assert.equal(sc.runAsNonRoot, true, `${site.where} ${c.name}`);
      assert.equal(sc.readOnlyRootFilesystem, true, `${site.where} ${c.name}`);
      assert.equal(sc.allowPrivilegeEscalation, false, `${site.where} ${c.name}`);
    }
  }
});

test('shutdown timeouts fit inside the pod grace period', () => {
  for (const site of sites) {
    const graceMs = (site.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    for (const c of allContainers(site.spec)) {
      const svc = serviceOf(c);
      if (!svc || !('shutdownTimeoutMs' in svc.schema.properties)) continue;
      const config = loadAs(svc, c, resolveEnv(c, site.namespace, objects).env);
      assert.ok((config.shutdownTimeoutMs as number) + 5000 <= graceMs, `${site.where} ${c.name}: ${config.shutdownTimeoutMs} ms to drain, ${graceMs} ms grace`);
    }
  }
});

test('Services and PodDisruptionBudgets select the pods they are meant for, on ports those pods open', () => {
  for (const dir of tops) {
    const objs = renderKustomization(dir).objects;
    const workloads = objs.filter((o) => o.kind === 'Deployment');
    for (const o of objs.filter((x) => x.kind === 'Service' || x.kind === 'PodDisruptionBudget')) {
      const spec = o.spec as { selector?: Record<string, string> & { matchLabels?: Record<string, string> }; ports?: { targetPort?: unknown; port: number }[] };
      const selector = o.kind === 'Service' ? spec.selector : spec.selector?.matchLabels;
      const hits = workloads.filter((w) => w.metadata?.namespace === o.metadata?.namespace && labelsMatch(selector, ((w.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels)));
      assert.equal(hits.length, 1, `${rel(dir)}: ${o.kind} ${o.metadata?.name} selects ${hits.length} Deployments`);
      const pod = (hits[0]!.spec as { template: { spec: PodSpec } }).template.spec;
      for (const p of spec.ports ?? []) {
        assert.ok(pod.containers.some((c) => portNumber(c, p.targetPort ?? p.port) !== undefined), `${rel(dir)}: Service ${o.metadata?.name} port ${String(p.targetPort)}`);
      }
    }
    for (const ing of objs.filter((x) => x.kind === 'Ingress')) {
      for (const [, b] of JSON.stringify(ing.spec).matchAll(/"service":\{"name":"([^"]+)"/g)) {
        assert.ok(find(objs, 'Service', ing.metadata?.namespace, b!), `${rel(dir)}: Ingress backend ${b}`);
      }
    }
  }
});

test('aggregator replicas never exceed the partitions the setup Job creates', () => {
  let pairs = 0;
  for (const dir of tops) {
    const objs = renderKustomization(dir).objects;
    const setup = objs.find((o) => o.kind === 'Job' && (o.spec as { template: { spec: PodSpec } }).template.spec.containers[0]?.args?.[0] === 'setup');
    const agg = objs.find((o) => o.kind === 'Deployment' && allContainers((o.spec as { template: { spec: PodSpec } }).template.spec).some((c) => serviceOf(c)?.program === 'sparklogs-aggregator'));
    if (!setup || !agg) continue;
    pairs++;
    const c = (setup.spec as { template: { spec: PodSpec } }).template.spec.containers[0]!;
    const config = loadAs(serviceOf(c)!, c, resolveEnv(c, setup.metadata!.namespace!, objs).env);
    const replicas = (agg.spec as { replicas: number }).replicas;
    assert.ok(replicas <= (config.partitions as number), `${rel(dir)}: ${replicas} aggregators, ${config.partitions} partitions`);
    // A surge pod during a rollout would be one more consumer than planned.
    assert.equal((agg.spec as { strategy?: { rollingUpdate?: { maxSurge?: unknown } } }).strategy?.rollingUpdate?.maxSurge, 0, rel(dir));
  }
  assert.ok(pairs >= 2);
});

test('service accounts exist and RBAC stays least-privilege', () => {
  for (const site of sites) {
    const sa = site.spec.serviceAccountName;
    if (sa) assert.ok(find(objects, 'ServiceAccount', site.namespace, sa), `${site.where}: ServiceAccount ${site.namespace}/${sa}`);
  }
  for (const b of objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
    const { subjects, roleRef } = b as unknown as { subjects: { kind: string; name: string; namespace: string }[]; roleRef: { kind: string; name: string } };
    for (const s of subjects) if (s.kind === 'ServiceAccount') assert.ok(find(objects, 'ServiceAccount', s.namespace, s.name), `${b.metadata?.name}: subject ${s.namespace}/${s.name}`);
    assert.ok(find(objects, roleRef.kind, roleRef.kind === 'ClusterRole' ? undefined : b.metadata?.namespace, roleRef.name), `${b.metadata?.name}: ${roleRef.kind} ${roleRef.name}`);
  }
  assert.ok(!objects.some((o) => o.kind === 'ClusterRoleBinding'), 'nothing is granted cluster-wide');
  const reader = objects.filter((o) => o.kind === 'ClusterRole' && o.metadata?.name?.startsWith('sparklogs'));
  for (const r of reader) assert.deepEqual((r as unknown as { rules: unknown }).rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
});

test('every collector sidecar is native, and reads files another container of its pod writes', () => {
  let sidecars = 0;
  for (const site of sites) {
    for (const c of allContainers(site.spec)) {
      if (serviceOf(c)?.program !== 'sparklogs-collector') continue;
      sidecars++;
      const at = `${site.where} ${c.name}`;
      assert.ok(site.spec.initContainers?.includes(c), `${at}: not an init container`);
      assert.equal(c.restartPolicy, 'Always', `${at}: restartPolicy`);
      const { env } = resolveEnv(c, site.namespace, objects);
      const config = loadAs(serviceOf(c)!, c, env);
      // Label values stand in as valid ids: what is checked is that each id has a source.
      assert.doesNotThrow(() => resolveIdentity(config as unknown as CollectorConfig, env), at);
      for (const glob of config.paths as string[]) {
        const dir = glob.slice(0, glob.lastIndexOf('/'));
        const m = c.volumeMounts?.find((v) => v.mountPath === dir);
        assert.ok(m, `${at}: ${dir} is not mounted`);
        const vol = site.spec.volumes?.find((v) => v.name === m.name);
        assert.ok(vol?.emptyDir, `${at}: ${m.name} is not an emptyDir`);
        const writers = site.spec.containers.filter((o) => o.volumeMounts?.some((v) => v.name === m.name && !v.readOnly));
        assert.ok(writers.length > 0, `${at}: no container writes to ${m.name}`);
      }
      const state = c.volumeMounts?.find((v) => v.mountPath === config.stateDir);
      assert.ok(state && !state.readOnly, `${at}: state dir ${config.stateDir} is not a writable mount`);
    }
  }
  assert.ok(sidecars >= 2);
});

test('the aggregator watches pods only where it may list and watch them', () => {
  const all = applied();
  let checked = 0;
  for (const dir of tops) {
    const objs = renderKustomization(dir).objects;
    const agg = objs.find((o) => o.kind === 'Deployment' && allContainers((o.spec as { template: { spec: PodSpec } }).template.spec).some((c) => serviceOf(c)?.program === 'sparklogs-aggregator'));
    if (!agg) continue;
    checked++;
    const pod = (agg.spec as { template: { spec: PodSpec & { automountServiceAccountToken?: boolean } } }).template.spec;
    const c = pod.containers.find((x) => serviceOf(x)?.program === 'sparklogs-aggregator')!;
    const config = loadAs(serviceOf(c)!, c, resolveEnv(c, agg.metadata!.namespace!, objs).env);
    assert.equal(config.watchPods, true, `${rel(dir)}: lifecycle facts (exit code, OOMKilled) need the pod watcher`);
    assert.notEqual(pod.automountServiceAccountToken, false, `${rel(dir)}: the watcher needs the service account token`);
    const namespaces = config.watchNamespaces as string[];
    assert.ok(namespaces.length > 0, `${rel(dir)}: watching every namespace needs a ClusterRoleBinding, which sparklogs does not ship`);
    for (const ns of namespaces) {
      // The RoleBinding lives with the jobs namespace's own kustomization (deploy/spark), applied beside the overlay.
      const binding = all.find((o) => o.kind === 'RoleBinding' && o.metadata?.namespace === ns
        && (o as unknown as { subjects: { kind: string; name: string; namespace?: string }[] }).subjects.some((s) => s.kind === 'ServiceAccount' && s.name === pod.serviceAccountName && s.namespace === agg.metadata!.namespace));
      assert.ok(binding, `${rel(dir)}: no RoleBinding in ${ns} for ${agg.metadata!.namespace}/${pod.serviceAccountName}`);
      const ref = (binding as unknown as { roleRef: { kind: string; name: string } }).roleRef;
      const role = all.find((o) => o.kind === ref.kind && o.metadata?.name === ref.name && (ref.kind === 'ClusterRole' || o.metadata?.namespace === ns)) as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] } | undefined;
      assert.ok(role, `${rel(dir)}: ${ref.kind} ${ref.name}`);
      for (const verb of ['list', 'watch']) {
        assert.ok(role.rules.some((r) => r.apiGroups.includes('') && r.resources.includes('pods') && r.verbs.includes(verb)), `${ref.name} lacks ${verb} pods`);
      }
    }
  }
  assert.ok(checked >= 2);
});

test('the node collector (node mode) watches pods only in namespaces where a RoleBinding lets it, and reads the pod logs read-only', () => {
  let checked = 0;
  for (const site of sites) {
    for (const c of allContainers(site.spec)) {
      if (serviceOf(c) !== NODE_COLLECTOR) continue;
      checked++;
      const config = loadAs(NODE_COLLECTOR, c, resolveEnv(c, site.namespace, objects).env);
      const namespaces = config.namespaces as string[];
      assert.ok(namespaces.length > 0, `${site.where}: watching every namespace needs a ClusterRoleBinding, which sparklogs does not ship`);
      for (const ns of namespaces) {
        const binding = objects.find((o) => o.kind === 'RoleBinding' && o.metadata?.namespace === ns
          && (o as unknown as { subjects: { kind: string; name: string; namespace?: string }[] }).subjects.some((s) => s.kind === 'ServiceAccount' && s.name === site.spec.serviceAccountName && s.namespace === site.namespace));
        assert.ok(binding, `${site.where}: no RoleBinding in ${ns} for ${site.namespace}/${site.spec.serviceAccountName}`);
      }
      const logs = c.volumeMounts?.find((v) => v.mountPath === config.podLogDir);
      assert.ok(logs?.readOnly, `${site.where}: ${String(config.podLogDir)} is not mounted read-only`);
      assert.ok(site.spec.volumes?.some((v) => v.name === logs.name && 'hostPath' in v), `${site.where}: the pod logs are not the node's (hostPath)`);
      const state = c.volumeMounts?.find((v) => v.mountPath === config.stateDir);
      assert.ok(state && !state.readOnly && site.spec.volumes?.some((v) => v.name === state.name && 'hostPath' in v), `${site.where}: checkpoints must be on the node (a writable hostPath)`);
    }
  }
  assert.ok(checked >= 1, 'the node-collector component');
});

test('every copy of the endpoints ConfigMap says the same', () => {
  const copies = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'sparklogs-endpoints') as unknown as { metadata: { namespace: string }; data: Record<string, string> }[];
  assert.ok(copies.length >= 2, 'sparklogs-endpoints in sparklogs and sparklogs-node');
  for (const c of copies.slice(1)) assert.deepEqual(c.data, copies[0]!.data, `sparklogs-endpoints in ${c.metadata.namespace} differs from ${copies[0]!.metadata.namespace}`);
});

// Found on the real cluster: the spool DaemonSet (hostPath, a root step) in the
// "restricted" namespace was refused by Pod Security admission, pod after pod.
// And issue 29: with enforce "privileged" but warn "baseline", every apply of
// an overlay printed `would violate PodSecurity "baseline:latest": hostPath
// volumes`. A mode without a label is the cluster's default (Kubernetes':
// privileged), as in the jobs namespace the user creates.
test('pods that mount a hostPath or run a step as root live in a namespace whose Pod Security labels allow it in every mode', () => {
  let checked = 0;
  for (const site of sites.filter((s) => !templates.some((f) => s.where.startsWith(rel(f))))) {
    const hostPath = (site.spec.volumes ?? []).some((v) => 'hostPath' in v);
    const root = allContainers(site.spec).some((c) => (c.securityContext as { runAsUser?: number } | undefined)?.runAsUser === 0);
    if (!hostPath && !root) continue;
    checked++;
    const labels = find(objects, 'Namespace', undefined, site.namespace)?.metadata?.labels ?? {};
    for (const mode of ['enforce', 'warn', 'audit']) {
      const level = labels[`pod-security.kubernetes.io/${mode}`] ?? 'privileged';
      assert.equal(level, 'privileged', `${site.where}: hostPath or runAsUser 0 in namespace ${site.namespace}, whose Pod Security ${mode} level is ${level}`);
    }
  }
  assert.ok(checked >= 2, 'the spool and the node collector DaemonSets');
});

// Issue 29: the aggregator's pods create the topics themselves when they start
// before the setup Job; with the schema's default partitions (4) they made
// sparklogs.lines before the Job could make it with the overlay's 6.
test('the setup Job and the aggregator create the topics with the same settings', () => {
  let pairs = 0;
  const topicSettings = (objs: K8sObject[], o: K8sObject) => {
    const c = allContainers((o.spec as { template: { spec: PodSpec } }).template.spec).find((x) => serviceOf(x)?.program === 'sparklogs-aggregator')!;
    const config = loadAs(serviceOf(c)!, c, resolveEnv(c, o.metadata!.namespace!, objs).env);
    return { partitions: config.partitions, topicRetentionHours: config.topicRetentionHours, prefix: config.prefix, kafkaBrokers: config.kafkaBrokers };
  };
  for (const dir of tops) {
    const objs = renderKustomization(dir).objects;
    const setup = objs.find((o) => o.kind === 'Job' && (o.spec as { template: { spec: PodSpec } }).template.spec.containers[0]?.args?.[0] === 'setup');
    const agg = objs.find((o) => o.kind === 'Deployment' && allContainers((o.spec as { template: { spec: PodSpec } }).template.spec).some((c) => serviceOf(c)?.program === 'sparklogs-aggregator'));
    if (!setup || !agg) continue;
    pairs++;
    assert.deepEqual(topicSettings(objs, agg), topicSettings(objs, setup), `${rel(dir)}: the aggregator Deployment and the setup Job`);
  }
  assert.ok(pairs >= 2);
});
