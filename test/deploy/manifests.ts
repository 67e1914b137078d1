// Reads the manifests under deploy/ and renders the kustomizations among them.
// The renderer covers exactly the kustomize features deploy/ uses (resources,
// strategic-merge patches by file, images, configMapGenerator without name
// hashes) and rejects any other, so a kustomization that grows past it fails
// here instead of being half-rendered; where kubectl is installed its own
// kustomize output is compared with this one (schemas.test.ts).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { K8sObject } from './k8s-schema.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DEPLOY = join(ROOT, 'deploy');

export const rel = (p: string) => relative(ROOT, p);

/** Every YAML file under deploy/ except the local stack's. */
export function yamlFiles(dir = DEPLOY): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (p === join(DEPLOY, 'local')) continue;
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(e)) out.push(p);
  }
  return out;
}

/** The documents of a YAML file; a syntax error or a duplicate key throws, naming the file. */
export function loadYaml(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: unknown[] = [];
  for (const d of list) {
    if (d.errors.length) throw new Error(`${rel(file)}: ${d.errors.map((e) => e.message).join('; ')}`);
    const v: unknown = d.toJS();
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

export const isKustomization = (file: string) => basename(file) === 'kustomization.yaml';

interface Kustomization {
  resources?: string[];
  patches?: { path: string }[];
  images?: { name: string; newName?: string; newTag?: string }[];
  generatorOptions?: { disableNameSuffixHash?: boolean; labels?: Record<string, string> };
  configMapGenerator?: { name: string; namespace?: string; files?: string[]; literals?: string[] }[];
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'patches', 'images', 'generatorOptions', 'configMapGenerator']);

export interface Rendered {
  objects: K8sObject[];
  /** Files that went into the result: resources and patches, transitively. */
  files: string[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Strategic merge as kustomize applies it to the fields deploy/ patches: maps merge, lists of named items merge by name, other lists are replaced. */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isObj(base) && isObj(patch)) {
    const out: Json = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (k.startsWith('$')) throw new Error(`patch directive ${k} is not supported by the test renderer`);
      out[k] = k in base ? strategicMerge(base[k], v) : v;
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch) && patch.every((p) => isObj(p) && typeof p.name === 'string')) {
    const out = [...base];
    for (const p of patch as Json[]) {
      const i = out.findIndex((b) => isObj(b) && b.name === p.name);
      if (i < 0) out.push(p);
      else out[i] = strategicMerge(out[i], p);
    }
    return out;
  }
  return patch;
}

const sameObject = (a: K8sObject, b: K8sObject) =>
  a.kind === b.kind && a.metadata?.name === b.metadata?.name && (a.metadata?.namespace ?? '') === (b.metadata?.namespace ?? '');

function setImages(node: unknown, images: NonNullable<Kustomization['images']>): void {
  if (Array.isArray(node)) node.forEach((n) => setImages(n, images));
  if (!isObj(node)) return;
  for (const [k, v] of Object.entries(node)) {
    if ((k === 'containers' || k === 'initContainers') && Array.isArray(v)) {
      for (const c of v as Json[]) {
        if (typeof c.image !== 'string') continue;
        const name = c.image.replace(/[:@].*$/, '');
        const img = images.find((i) => i.name === name);
        if (img) c.image = `${img.newName ?? name}${img.newTag ? `:${img.newTag}` : c.image.slice(name.length)}`;
      }
    } else setImages(v, images);
  }
}

export function renderKustomization(dir: string): Rendered {
  const file = join(dir, 'kustomization.yaml');
  const k = loadYaml(file)[0] as Kustomization;
  const extra = Object.keys(k).filter((x) => !SUPPORTED.has(x));
  if (extra.length) throw new Error(`${rel(file)}: ${extra.join(', ')} not supported by the test renderer`);
  const objects: K8sObject[] = [];
  const files = [file];
  for (const r of k.resources ?? []) {
    const p = resolve(dir, r);
    if (statSync(p).isDirectory()) {
      const sub = renderKustomization(p);
      objects.push(...sub.objects);
      files.push(...sub.files);
    } else {
      objects.push(...(loadYaml(p) as K8sObject[]));
      files.push(p);
    }
  }
  const gen = k.configMapGenerator ?? [];
  if (gen.length && k.generatorOptions?.disableNameSuffixHash !== true) throw new Error(`${rel(file)}: hashed ConfigMap names are not supported by the test renderer`);
  for (const g of gen) {
    const data: Record<string, string> = {};
    for (const f of g.files ?? []) data[basename(f)] = readFileSync(resolve(dir, f), 'utf8');
    for (const l of g.literals ?? []) data[l.slice(0, l.indexOf('='))] = l.slice(l.indexOf('=') + 1);
    const labels = k.generatorOptions?.labels;
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name, ...(g.namespace ? { namespace: g.namespace } : {}), ...(labels ? { labels: { ...labels } } : {}) }, data });
    files.push(...(g.files ?? []).map((f) => resolve(dir, f)));
  }
  for (const { path } of k.patches ?? []) {
    const p = resolve(dir, path);
    files.push(p);
    for (const patch of loadYaml(p) as K8sObject[]) {
      const i = objects.findIndex((o) => sameObject(o, patch));
      if (i < 0) throw new Error(`${rel(p)}: patches ${patch.kind} ${patch.metadata?.name}, which ${rel(dir)} does not have`);
      objects[i] = strategicMerge(objects[i], patch) as K8sObject;
    }
  }
  if (k.images) setImages(objects, k.images);
  return { objects, files };
}

/** Directories holding a kustomization.yaml that no other kustomization includes: the ones a user applies. */
export function topKustomizations(): string[] {
  const dirs = yamlFiles().filter(isKustomization).map(dirname);
  const included = new Set(dirs.flatMap((d) => renderKustomization(d).files.filter(isKustomization).map(dirname).filter((x) => x !== d)));
  return dirs.filter((d) => !included.has(d));
}

export const podSpecOf = (o: K8sObject): Json | undefined => {
  const spec = o.spec as Json | undefined;
  if (o.kind === 'Pod') return spec;
  if (o.kind === 'CronJob') return ((((spec?.jobTemplate as Json)?.spec as Json)?.template as Json)?.spec as Json) ?? undefined;
  return ((spec?.template as Json)?.spec as Json) ?? undefined;
};
