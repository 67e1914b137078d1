// Every manifest and pod template under deploy/ is valid for the Kubernetes
// API: what `kubectl apply -k` would send, and what spark-submit / Flink read
// as pod templates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { validateK8s, type K8sObject } from './k8s-schema.js';
import { isKustomization, loadYaml, rel, renderKustomization, topKustomizations, yamlFiles } from './manifests.js';

const tops = topKustomizations();
const rendered = new Set(tops.flatMap((d) => renderKustomization(d).files));
const standalone = yamlFiles().filter((f) => !rendered.has(f) && !isKustomization(f));

test('there is something to validate', () => {
  assert.ok(tops.length >= 3, `kustomizations: ${tops.map(rel).join(', ')}`);
  assert.ok(standalone.some((f) => f.endsWith('executor-pod-template.yaml')), standalone.map(rel).join(', '));
});

test('every YAML file under deploy/ parses, without duplicate keys', () => {
  for (const f of yamlFiles()) assert.doesNotThrow(() => loadYaml(f), rel(f));
});

for (const dir of tops) {
  test(`kustomization ${rel(dir)} renders to valid objects`, async () => {
    const { objects } = renderKustomization(dir);
    assert.ok(objects.length > 0);
    const keys = new Set<string>();
    for (const o of objects) {
      const id = `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
      assert.ok(!keys.has(id), `${id} twice`);
      keys.add(id);
      assert.deepEqual(await validateK8s(o), [], id);
    }
  });
}

for (const f of standalone) {
  test(`${rel(f)} is valid`, async () => {
    const docs = loadYaml(f) as K8sObject[];
    assert.ok(docs.length > 0);
    for (const o of docs) assert.deepEqual(await validateK8s(o), [], `${o.kind} ${o.metadata?.name ?? ''}`);
  });
}

test('the validator rejects unknown fields, wrong types and missing required fields', async () => {
  const pod = (container: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [container] } });
  assert.deepEqual(await validateK8s(pod({ name: 'c', image: 'i' })), []);
  const typo = await validateK8s(pod({ name: 'c', image: 'i', securityContext: { readOnlyRootFileSystem: true } }));
  assert.deepEqual(typo, ['/spec/containers/0/securityContext/readOnlyRootFileSystem: unknown field of V1SecurityContext']);
  const type = await validateK8s(pod({ name: 'c', image: 'i', ports: [{ containerPort: 'http' }] }));
  assert.match(type.join('\n'), /containerPort must be integer/);
  const required = await validateK8s(pod({ image: 'i' }));
  assert.match(required.join('\n'), /\/spec\/containers\/0 must have required property '?name'?/);
  assert.deepEqual(await validateK8s({ apiVersion: 'apps/v1', kind: 'Deploymnet' }), ['/: no kind Deploymnet in apps/v1']);
});

// Lists of named items are compared by name: kustomize puts patched items first.
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = v.map(canonical);
    const named = items.every((x) => typeof x === 'object' && x !== null && typeof (x as { name?: unknown }).name === 'string');
    return named ? items.sort((a, b) => String((a as { name: string }).name).localeCompare((b as { name: string }).name)) : items;
  }
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, canonical(x)]));
  return v;
}

const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
})();

for (const dir of tops) {
  test(`kubectl kustomize ${rel(dir)} gives what the test renderer gives`, { skip: kubectl ? false : 'kubectl is not installed' }, () => {
    const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
    const theirs = parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
    const ours = renderKustomization(dir).objects;
    const key = (o: K8sObject) => `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
    assert.deepEqual(theirs.map(key).sort(), ours.map(key).sort());
    for (const o of ours) assert.deepEqual(canonical(theirs.find((t) => key(t) === key(o))), canonical(o), key(o));
  });
}
