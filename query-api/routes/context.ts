import type { Level } from '../../contract/documents.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { parseTime } from '../lines.js';
import type { ExecutorRef, LineFilter, Store } from '../store/elasticsearch.js';

/** What every route module receives from build(). */
export interface RouteContext {
  store: Store;
  cfg: Readonly<Config>;
  streams: { active: number };
}

export interface FilterQuery {
  appType?: string;
  level?: Level;
  stream?: 'stdout' | 'stderr';
  from?: string;
  to?: string;
  q?: string;
  mode?: 'text' | 'lucene';
}

export function lineFilter(params: { appId: string; executorId?: string }, q: FilterQuery): LineFilter {
  const f: LineFilter = { appId: params.appId };
  if (params.executorId) f.executorId = params.executorId;
  if (q.appType) f.appType = q.appType;
  if (q.level) f.minLevel = q.level;
  if (q.stream) f.stream = q.stream;
  const from = parseTime('from', q.from);
  const to = parseTime('to', q.to);
  if (from !== undefined) f.from = from;
  if (to !== undefined) f.to = to;
  if (from !== undefined && to !== undefined && from > to) throw new ApiError('BAD_PARAMETER', 'from: must not be later than to', { param: 'from' });
  if (q.q !== undefined) {
    f.text = q.q;
    f.lucene = q.mode === 'lucene';
  }
  return f;
}

/** The 404 for an app or executor the store has never seen. */
export async function assertExists(store: Store, ref: ExecutorRef): Promise<void> {
  if (await store.exists(ref)) return;
  if (ref.executorId && (await store.exists({ appId: ref.appId, appType: ref.appType }))) {
    throw new ApiError('EXECUTOR_NOT_FOUND', `executorId: app ${ref.appId} has no executor ${JSON.stringify(ref.executorId)}`, { param: 'executorId' });
  }
  throw new ApiError('APP_NOT_FOUND', `appId: no app ${JSON.stringify(ref.appId)} is stored${ref.appType ? ` with appType ${ref.appType}` : ''}`, { param: 'appId' });
}
