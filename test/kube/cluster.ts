// The real Kubernetes node test/run.sh brought up (deploy/local/kube), and
// sparklogs installed on it the way deploy/README.md tells a user to: the
// overlay applied as it is, the jobs namespace from deploy/spark, and Kafka
// and Elasticsearch as the cluster's existing external services (Services
// without selectors in front of the test stack, which listens on the node's
// address for them).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const REPO = resolve(import.meta.dirname, '../..');

/** The pinned Spark versions (deploy/local/versions.env): test/kube/prepare.sh built their images. */
export function sparkVersions(): string[] {
  const pins = Object.fromEntries(readFileSync(join(REPO, 'deploy/local/versions.env'), 'utf8').split('\n').flatMap((l) => {
    const m = /^([A-Z0-9_]+)=(\S+)$/.exec(l.trim());
    return m ? [[m[1]!, m[2]!]] : [];
  }));
  return [pins.SPARK3_VERSION!, pins.SPARK4_VERSION!];
}

export interface Cluster {
  kubeconfig: string;
  kubectlPath: string;
  nodeIp: string;
  /** Kafka's listener for pods and Elasticsearch's HTTP address on the node's address. */
  kafkaClusterBrokers: string;
  esClusterUrl: string;
  /** The node's containerd socket (ctr), to kill a container the way a crash would. */
  containerd: string;
}

export function testCluster(): Cluster {
  const env = process.env;
  const need = ['SPARKLOGS_TEST_KUBECONFIG', 'SPARKLOGS_TEST_KUBECTL', 'SPARKLOGS_TEST_NODE_IP', 'SPARKLOGS_TEST_KAFKA_CLUSTER_BROKERS', 'SPARKLOGS_TEST_ES_CLUSTER_URL', 'SPARKLOGS_TEST_CONTAINERD'];
  const missing = need.filter((k) => !env[k]);
  if (missing.length) throw new Error(`${missing.join(', ')} not set: run the real-cluster tests with \`npm test\` (test/run.sh brings the node up).`);
  return {
    kubeconfig: env.SPARKLOGS_TEST_KUBECONFIG!,
    kubectlPath: env.SPARKLOGS_TEST_KUBECTL!,
    nodeIp: env.SPARKLOGS_TEST_NODE_IP!,
    kafkaClusterBrokers: env.SPARKLOGS_TEST_KAFKA_CLUSTER_BROKERS!,
    esClusterUrl: env.SPARKLOGS_TEST_ES_CLUSTER_URL!,
    containerd: env.SPARKLOGS_TEST_CONTAINERD!,
  };
}

export async function kubectl(c: Cluster, args: string[], input?: string): Promise<string> {
  if (input === undefined) {
    const { stdout } = await exec(c.kubectlPath, args, { env: { ...process.env, KUBECONFIG: c.kubeconfig }, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  }
  return new Promise((resolve, reject) => {
    const p = spawn(c.kubectlPath, args, { env: { ...process.env, KUBECONFIG: c.kubeconfig } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')}: exit ${code}: ${err}`))));
    p.stdin.end(input);
  });
}

export async function kubectlJson<T>(c: Cluster, args: string[]): Promise<T> {
  return JSON.parse(await kubectl(c, [...args, '-o', 'json'])) as T;
}

/** Polls until `probe` returns a value (not undefined), or fails with what it last saw. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function hostPort(addr: string): { host: string; port: number } {
  const u = new URL(addr.includes('://') ? addr : `tcp://${addr}`);
  return { host: u.hostname, port: Number(u.port) };
}

/** A Service without a selector and its EndpointSlice: how a cluster names a server that runs outside it. */
function externalService(namespace: string, name: string, port: number, target: { host: string; port: number }): string {
  return `
apiVersion: v1
kind: Namespace
metadata: { name: ${namespace} }
---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  ports: [{ name: main, port: ${port}, targetPort: ${target.port} }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}-external
  namespace: ${namespace}
  labels: { kubernetes.io/service-name: ${name} }
addressType: IPv4
ports: [{ name: main, port: ${target.port} }]
endpoints: [{ addresses: ["${target.host}"] }]
`;
}

export interface Installed {
  /** The query API's Service, reachable from this machine through kube-proxy. */
  apiUrl: string;
  token: string;
}

/**
 * Installs sparklogs as deploy/README.md says (idempotent: every real-cluster
 * test file calls it; the first one does the work). Steps 2, 4 and 5 of
 * "Install, step by step"; the images are already in the node's containerd.
 */
export async function installSparklogs(c: Cluster): Promise<Installed> {
  const kafka = hostPort(c.kafkaClusterBrokers.split(',')[0]!);
  const es = hostPort(c.esClusterUrl);
  await kubectl(c, ['apply', '-f', '-'], externalService('kafka', 'kafka-bootstrap', 9092, kafka) + '---' + externalService('elastic', 'elasticsearch', 9200, es));

  await kubectl(c, ['apply', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: { name: sparklogs }\n');
  let token: string;
  try {
    const s = await kubectlJson<{ data: { tokens: string } }>(c, ['-n', 'sparklogs', 'get', 'secret', 'sparklogs-api-tokens']);
    token = Buffer.from(s.data.tokens, 'base64').toString().split(',')[0]!;
  } catch {
    token = randomBytes(24).toString('hex');
    await kubectl(c, ['-n', 'sparklogs', 'create', 'secret', 'generic', 'sparklogs-api-tokens', `--from-literal=tokens=${token}`]);
  }
  await kubectl(c, ['apply', '-k', join(REPO, 'deploy/kubernetes/overlays/small')]);
  await kubectl(c, ['-n', 'sparklogs', 'wait', '--for=condition=complete', 'job/sparklogs-setup', '--timeout=10m']);
  await kubectl(c, ['-n', 'sparklogs', 'rollout', 'status', 'deploy/sparklogs-aggregator', 'deploy/sparklogs-query-api', '--timeout=10m']);

  await kubectl(c, ['apply', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: { name: spark-jobs }\n');
  await kubectl(c, ['apply', '-k', join(REPO, 'deploy/spark')]);

  const svc = await kubectlJson<{ spec: { clusterIP: string; ports: { port: number }[] } }>(c, ['-n', 'sparklogs', 'get', 'service', 'sparklogs-query-api']);
  return { apiUrl: `http://${svc.spec.clusterIP}:${svc.spec.ports[0]!.port}`, token };
}

/** Pod logs of everything in a namespace, for a failing test's diagnosis. */
export async function describeNamespace(c: Cluster, namespace: string): Promise<string> {
  const parts: string[] = [];
  try {
    parts.push(await kubectl(c, ['-n', namespace, 'get', 'pods', '-o', 'wide']));
    parts.push(await kubectl(c, ['-n', namespace, 'get', 'events', '--sort-by=.lastTimestamp']));
  } catch (err) {
    parts.push(String(err));
  }
  return parts.join('\n');
}

/** SIGKILL to one container of a pod, through the node's containerd: a crash, which the kubelet answers with a restart. */
export async function killContainer(c: Cluster, namespace: string, pod: string, container: string): Promise<void> {
  const p = await kubectlJson<{ status: { initContainerStatuses?: { name: string; containerID?: string }[]; containerStatuses?: { name: string; containerID?: string }[] } }>(c, ['-n', namespace, 'get', 'pod', pod]);
  const st = [...(p.status.initContainerStatuses ?? []), ...(p.status.containerStatuses ?? [])].find((x) => x.name === container);
  const id = st?.containerID?.replace(/^containerd:\/\//, '');
  if (!id) throw new Error(`${namespace}/${pod}: container ${container} has no id yet`);
  await exec('ctr', ['--address', c.containerd, '-n', 'k8s.io', 'tasks', 'kill', '-s', 'SIGKILL', id]);
}
