// Validates a Kubernetes object against the API's own OpenAPI schemas: types,
// required fields and enums through kubernetes-models' compiled validators,
// and unknown fields (a typo such as `readOnlyRootFileSystem` is silently
// dropped by the API server, so the setting it meant never applies) through
// the field lists of @kubernetes/client-node's generated models.
import * as clientModels from '@kubernetes/client-node';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

interface Attribute {
  baseName: string;
  type: string;
}

type Model = { attributeTypeMap?: Attribute[] };
const models = clientModels as unknown as Record<string, Model | undefined>;

/** `V1Deployment` for apps/v1 Deployment, `V2HorizontalPodAutoscaler` for autoscaling/v2. */
function modelName(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').pop() ?? apiVersion;
  return `${version[0]?.toUpperCase()}${version.slice(1)}${kind}`;
}

function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, array[1]!, `${path}/${i}`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === 'object') for (const [k, v] of Object.entries(value)) unknownFields(v, map[1]!, `${path}/${k}`, out);
    return;
  }
  const attrs = models[type]?.attributeTypeMap;
  if (!attrs || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [k, v] of Object.entries(value)) {
    const a = attrs.find((x) => x.baseName === k);
    if (!a) out.push(`${path}/${k}: unknown field of ${type}`);
    else unknownFields(v, a.type, `${path}/${k}`, out);
  }
}

/** Problems of one object, each `path: message`; empty when the object is valid. */
export async function validateK8s(obj: K8sObject): Promise<string[]> {
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') return ['/: apiVersion and kind are required'];
  let mod: Record<string, unknown>;
  try {
    mod = (await import(`kubernetes-models/${obj.apiVersion}`)) as Record<string, unknown>;
  } catch {
    return [`/: unknown apiVersion ${obj.apiVersion}`];
  }
  const Ctor = mod[obj.kind] as (new (o: unknown) => { validate(): void }) | undefined;
  if (!Ctor) return [`/: no kind ${obj.kind} in ${obj.apiVersion}`];
  const problems: string[] = [];
  try {
    new Ctor(obj).validate();
  } catch (e) {
    problems.push(...(e as Error).message.split(/, (?=data)/).map((m) => m.replace(/^data/, '')));
  }
  const name = modelName(obj.apiVersion, obj.kind);
  if (!models[name]?.attributeTypeMap) problems.push(`/: no field list for ${name}`);
  else unknownFields(obj, name, '', problems);
  return problems;
}
