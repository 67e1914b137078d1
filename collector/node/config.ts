import { Type, type Static } from '@sinclair/typebox';
import { loadConfig, type Loaded } from '../../contract/config.js';
import { CollectorConfigSchema } from '../config.js';

// Settings of the node mode (one collector per node, a DaemonSet): the
// sidecar's reading, batching and Kafka settings, without the per-pod
// identity and paths (they come from the kubelet's log directory and the
// pods' labels), plus where the pod logs are and how long lines of a pod the
// API has not described yet are held.

const Int = (description: string, dflt: number, minimum: number, maximum: number) => Type.Integer({ description, default: dflt, minimum, maximum });

const shared = Type.Omit(CollectorConfigSchema, [
  'paths',
  // The kubelet's CRI files carry the stream of every line: no files of a whole stream.
  'stdoutPaths',
  'stderrPaths',
  'format',
  'stateDir',
  'appType',
  'appId',
  'executorId',
  'role',
  'appName',
  'namespace',
  'pod',
  'podUid',
  'node',
  'container',
  'logPattern',
  'spoolDir',
  'spoolReserveMs',
  'spoolMaxBytes',
  // The sidecar's idle sleep on file events: node mode polls its pods' directories (collector/README.md).
  'fileEvents',
  'idlePollIntervalMs',
]);

export const NodeConfigSchema = Type.Composite([
  shared,
  Type.Object({
    mode: Type.Literal('node', { description: 'node: one collector per node reading the kubelet\'s pod log files (this mode); sidecar: one per pod (the default).', env: ['SPARKLOGS_COLLECTOR_MODE'] }),
    node: Type.String({ description: 'This node\'s name (Downward API spec.nodeName): only its pods are watched.', minLength: 1, env: ['SPARKLOGS_NODE_NAME'] }),
    stateDir: Type.String({ description: 'Checkpoints, one directory per pod container (a hostPath of the node: must survive the collector\'s restarts).', minLength: 1 }),
    podLogDir: Type.String({ description: 'The kubelet\'s pod log directory (<namespace>_<pod>_<uid>/<container>/<restart>.log, CRI format).', default: '/var/log/pods', minLength: 1 }),
    namespaces: Type.Array(Type.String({ minLength: 1 }), { description: 'Collect only pods of these namespaces (empty: every namespace).', default: [] }),
    identityWaitMs: Int('A pod log directory whose pod the API has not described after this long is shipped under the directory\'s namespace/pod (app type generic), logged and counted.', 30_000, 0, 3_600_000),
    maxWaiting: Int('Most pod containers held open while their pod is not known yet; beyond it, the oldest is shipped under its directory\'s name at once.', 500, 1, 100_000),
    maxKnownPods: Int('Most pods whose identity is remembered (alive and recently deleted).', 5000, 10, 1_000_000),
    discoverIntervalMs: Int('How often the pod log directory is scanned for new pods and containers.', 500, 10, 60_000),
    watchPods: Type.Boolean({ description: 'Describe pods through the Kubernetes API (identity from their labels). false: no API access; every pod container ships under its directory\'s namespace/pod (app type generic) after identityWaitMs.', default: true }),
    kubeconfig: Type.Optional(Type.String({ description: 'A kubeconfig file (default: KUBECONFIG, ~/.kube/config, else the in-cluster service account).', minLength: 1 })),
  }),
]);

export type NodeConfig = Static<typeof NodeConfigSchema>;

export function loadNodeConfig(argv: string[], env: Record<string, string | undefined>): Loaded<typeof NodeConfigSchema> {
  return loadConfig('sparklogs-collector --mode node', NodeConfigSchema, { argv, env, envPrefix: 'SPARKLOGS_' });
}
