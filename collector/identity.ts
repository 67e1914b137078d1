import { checkIdPart, type AppType, type SourceIdentity } from '../contract/identity.js';
import type { CollectorConfig } from './config.js';
import { CollectorError } from './errors.js';

// Who this pod's lines belong to, fixed at start-up from the pod's own
// environment (Downward API), so there is no race with the Kubernetes API and
// a missing id stops the collector instead of shipping "unknown".

export type BaseIdentity = Omit<SourceIdentity, 'file' | 'fileId' | 'fileSeq' | 'stream'>;

type Env = Record<string, string | undefined>;
type IdConfig = Pick<CollectorConfig, 'appType' | 'appId' | 'executorId' | 'role' | 'appName' | 'namespace' | 'pod' | 'podUid' | 'node' | 'container'> & Partial<Pick<CollectorConfig, 'logPattern'>>;

const set = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

interface Resolved {
  appId?: string;
  appIdFrom: string;
  executorId?: string;
  executorIdFrom: string;
  role: string;
}

// One profile per app type: where the ids come from when not given directly.
const PROFILES: Record<AppType, (c: IdConfig, env: Env) => Resolved> = {
  spark(c, env) {
    const executorId = c.executorId ?? set(env.SPARK_EXECUTOR_ID);
    const role = c.role ?? (executorId === undefined || executorId === 'driver' ? 'driver' : 'executor');
    return {
      appId: c.appId ?? set(env.SPARK_APPLICATION_ID),
      appIdFrom: 'SPARKLOGS_APP_ID or SPARK_APPLICATION_ID',
      executorId: executorId ?? (role === 'driver' ? 'driver' : undefined),
      executorIdFrom: 'SPARKLOGS_EXECUTOR_ID or SPARK_EXECUTOR_ID (or SPARKLOGS_ROLE=driver)',
      role,
    };
  },
  flink(c) {
    const role = c.role ?? 'taskmanager';
    return {
      appId: c.appId,
      appIdFrom: 'SPARKLOGS_APP_ID (the Flink cluster id, label app)',
      executorId: c.executorId ?? (role === 'jobmanager' ? 'jobmanager' : c.pod),
      executorIdFrom: 'SPARKLOGS_EXECUTOR_ID or SPARKLOGS_POD_NAME (or SPARKLOGS_ROLE=jobmanager)',
      role,
    };
  },
  flume(c) {
    return { appId: c.appId, appIdFrom: 'SPARKLOGS_APP_ID', executorId: c.executorId, executorIdFrom: 'SPARKLOGS_EXECUTOR_ID (the agent name)', role: c.role ?? 'agent' };
  },
  generic(c) {
    return { appId: c.appId, appIdFrom: 'SPARKLOGS_APP_ID', executorId: c.executorId, executorIdFrom: 'SPARKLOGS_EXECUTOR_ID', role: c.role ?? 'main' };
  },
};

export function resolveIdentity(c: IdConfig, env: Env): BaseIdentity {
  const r = PROFILES[c.appType](c, env);
  const problems = [checkIdPart(`appId (${r.appIdFrom})`, r.appId), checkIdPart(`executorId (${r.executorIdFrom})`, r.executorId)].filter(
    (p): p is string => p !== undefined,
  );
  if (problems.length) throw new CollectorError('IDENTITY_INVALID', `identity of this ${c.appType} pod is incomplete: ${problems.join('; ')}`);
  const id: BaseIdentity = { appType: c.appType, appId: r.appId!, executorId: r.executorId!, role: r.role };
  for (const k of ['appName', 'namespace', 'pod', 'podUid', 'node', 'container'] as const) {
    if (c[k] !== undefined) id[k] = c[k];
  }
  // Travels with every batch of this source (and through the spool): the aggregator parses with it.
  if (c.logPattern !== undefined) id.pattern = c.logPattern;
  return id;
}
