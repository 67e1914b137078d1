// What a sparklogs container in a manifest or pod template would start with:
// its environment resolved the way the kubelet resolves it, then loaded by
// the service's own config schema, so a misspelt variable, a missing
// required option or a bad value fails here instead of in a crash loop.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TObject } from '@sinclair/typebox';
import { envNames, loadConfig } from '../../contract/config.js';
import { CollectorConfigSchema } from '../../collector/config.js';
import { SpoolConfigSchema } from '../../collector/spool/config.js';
import { NodeConfigSchema } from '../../collector/node/config.js';
import { ConfigSchema as AggregatorConfigSchema } from '../../aggregator/config.js';
import { ConfigSchema as QueryApiConfigSchema } from '../../query-api/config.js';
import { compilePatterns } from '../../collector/sources/scan.js';
import type { K8sObject } from './k8s-schema.js';
import { ROOT, podSpecOf, renderKustomization, topKustomizations } from './manifests.js';

export type Json = Record<string, unknown>;

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: Json }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  restartPolicy?: string;
  securityContext?: Json;
  startupProbe?: Json;
  livenessProbe?: Json;
  readinessProbe?: Json;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: ({ name: string } & Json)[];
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: Json;
}

export interface Service {
  program: string;
  schema: TObject;
  /** Source folder: probe paths must be routes it serves. */
  dir: string;
}

/** The image each service ships in (deploy/images/); the tag is the overlay's. */
export const SERVICES: Record<string, Service> = {
  'sparklogs/collector': { program: 'sparklogs-collector', schema: CollectorConfigSchema, dir: 'collector' },
  'sparklogs/aggregator': { program: 'sparklogs-aggregator', schema: AggregatorConfigSchema, dir: 'aggregator' },
  'sparklogs/query-api': { program: 'sparklogs-query-api', schema: QueryApiConfigSchema, dir: 'query-api' },
};

export const ENV_PREFIX = 'SPARKLOGS_';

const SPOOL: Service = { program: 'sparklogs-spool', schema: SpoolConfigSchema, dir: 'collector' };
/** The collector in node mode (a DaemonSet: --mode node), which reads the kubelet's pod log files. */
export const NODE_COLLECTOR: Service = { program: 'sparklogs-collector --mode node', schema: NodeConfigSchema, dir: 'collector' };
/** The program a container runs: by image, and for the collector image by command (sparklogs-spool shares it) and mode. */
export const serviceOf = (c: Container) => {
  if (c.image?.replace(/[:@].*$/, '') === 'sparklogs/collector' && (c.command ?? []).some((x) => x.endsWith('/spool-main.js'))) return SPOOL;
  const args = c.args ?? [];
  if (c.image?.replace(/[:@].*$/, '') === 'sparklogs/collector' && (args.includes('--mode=node') || (args.includes('--mode') && args[args.indexOf('--mode') + 1] === 'node'))) return NODE_COLLECTOR;
  // The image used for a one-off step (node -e ...) runs none of the services.
  if (c.command && !c.command.some((x) => x.endsWith('.js'))) return undefined;
  return c.image ? SERVICES[c.image.replace(/[:@].*$/, '')] : undefined;
};

export const optionEnvNames = (s: Service) => new Set(Object.entries(s.schema.properties).flatMap(([k, v]) => envNames(ENV_PREFIX, k, v)));

/** Where every pod spec lives: rendered kustomizations and standalone pod templates. */
export interface PodSite {
  where: string;
  obj: K8sObject;
  spec: PodSpec;
  namespace: string;
}

/** Every object a user applies (all kustomizations rendered). */
export const applied = (): K8sObject[] => topKustomizations().flatMap((d) => renderKustomization(d).objects);

export function find(objects: K8sObject[], kind: string, namespace: string | undefined, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata?.name === name && (namespace === undefined || o.metadata?.namespace === namespace));
}

/** Downward API fields stand in as plausible values of the real pod's. */
const FIELD_SAMPLE: Record<string, string> = {
  'metadata.name': 'etl-daily-exec-3',
  'metadata.namespace': 'spark-jobs',
  'metadata.uid': '6f1c0d1e-2b7a-4c1e-9a43-3d2f0b6c8e11',
  'spec.nodeName': 'node-7',
  'status.podIP': '10.0.0.7',
};

export interface ResolvedEnv {
  env: Record<string, string>;
  problems: string[];
  /** Secrets the manifests expect to exist but do not create. */
  externalSecrets: { name: string; key: string }[];
}

export function resolveEnv(c: Container, namespace: string, objects: K8sObject[]): ResolvedEnv {
  const env: Record<string, string> = {};
  const problems: string[] = [];
  const externalSecrets: { name: string; key: string }[] = [];
  const configMap = (name: string) => find(objects, 'ConfigMap', namespace, name) as (K8sObject & { data?: Record<string, string> }) | undefined;
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = configMap(from.configMapRef.name);
      if (!cm) problems.push(`${c.name}: envFrom ConfigMap ${namespace}/${from.configMapRef.name} is not created by any kustomization`);
      else Object.assign(env, cm.data);
    }
    if (from.secretRef) problems.push(`${c.name}: envFrom Secret ${from.secretRef.name}: name each secret variable instead`);
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const vf = e.valueFrom as { fieldRef?: { fieldPath: string }; configMapKeyRef?: { name: string; key: string }; secretKeyRef?: { name: string; key: string } } | undefined;
    if (!vf) continue;
    if (vf.fieldRef) {
      const label = /^metadata\.labels\['([^']+)'\]$/.exec(vf.fieldRef.fieldPath);
      // An annotation the pod may lack (sparklogs.dev/log-pattern): the kubelet then gives an empty value.
      const annotation = /^metadata\.annotations\['[^']+'\]$/.test(vf.fieldRef.fieldPath);
      env[e.name] = label ? `${label[1]!.replace(/[^A-Za-z0-9._:-]/g, '-')}-value` : (FIELD_SAMPLE[vf.fieldRef.fieldPath] ?? '');
      if (!label && !annotation && !(vf.fieldRef.fieldPath in FIELD_SAMPLE)) problems.push(`${c.name}: ${e.name}: unexpected fieldPath ${vf.fieldRef.fieldPath}`);
    } else if (vf.configMapKeyRef) {
      const v = configMap(vf.configMapKeyRef.name)?.data?.[vf.configMapKeyRef.key];
      if (v === undefined) problems.push(`${c.name}: ${e.name}: ConfigMap ${namespace}/${vf.configMapKeyRef.name} has no key ${vf.configMapKeyRef.key}`);
      else env[e.name] = v;
    } else if (vf.secretKeyRef) {
      const s = find(objects, 'Secret', namespace, vf.secretKeyRef.name);
      if (s) problems.push(`${c.name}: ${e.name}: Secret ${vf.secretKeyRef.name} is in the manifests: secrets stay out of git`);
      externalSecrets.push({ name: vf.secretKeyRef.name, key: vf.secretKeyRef.key });
      // Stands in for what the operator puts in the Secret (16+ characters for tokens).
      env[e.name] = 'placeholder-secret-0123456789abcdef';
    } else problems.push(`${c.name}: ${e.name}: unsupported valueFrom ${Object.keys(vf).join(',')}`);
  }
  return { env, problems, externalSecrets };
}

/** The service's config as the container would load it; throws the service's own ConfigError when it would not start. */
export function loadAs(s: Service, c: Container, env: Record<string, string>): Record<string, unknown> {
  const loaded = loadConfig(s.program, s.schema, { argv: c.args ?? [], env, envPrefix: ENV_PREFIX });
  if (loaded.help) throw new Error(`${c.name}: args ask for --help`);
  return loaded.config as Record<string, unknown>;
}

/** Whether the collector, given these paths, would read `file` (its own pattern code decides). */
export function collectorReads(paths: readonly string[], file: string): boolean {
  return compilePatterns(paths).some((p) => (p.name ? p.dir === file.slice(0, file.lastIndexOf('/')) && p.name.test(file.slice(file.lastIndexOf('/') + 1)) : p.literal === file));
}

function sourceText(dir: string): string {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(sourceText(p));
    else if (e.endsWith('.ts')) out.push(readFileSync(p, 'utf8'));
  }
  return out.join('\n');
}

/** Whether the service's source names this HTTP path as a route (quoted, as a route or a comparison). */
export const servesPath = (s: Service, path: string) => sourceText(join(ROOT, s.dir)).includes(`'${path}'`);

export function podSites(objects: K8sObject[], where: string): PodSite[] {
  const out: PodSite[] = [];
  for (const obj of objects) {
    const spec = podSpecOf(obj) as PodSpec | undefined;
    if (spec) out.push({ where: `${where}: ${obj.kind} ${obj.metadata?.name ?? ''}`, obj, spec, namespace: obj.metadata?.namespace ?? '' });
  }
  return out;
}

export const allContainers = (spec: PodSpec) => [...(spec.initContainers ?? []), ...spec.containers];

export function mountOf(c: Container, path: string) {
  return c.volumeMounts?.find((m) => m.mountPath === path);
}

/** The mount whose directory holds `file`. */
export function mountHolding(c: Container, file: string) {
  return c.volumeMounts?.find((m) => file.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
}
