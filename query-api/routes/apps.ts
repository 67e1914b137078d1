import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { ApiError } from '../errors.js';
import { parseTime } from '../lines.js';
import { AppParams, AppQuery, AppResponse, AppsQuery, AppsResponse, errorResponses } from '../schemas.js';
import type { ExecutorView } from '../store/elasticsearch.js';
import type { RouteContext } from './context.js';

export function executorStatus(e: ExecutorView): 'running' | 'succeeded' | 'failed' | 'removed' | 'unknown' {
  if (!e.lifecycle) return 'unknown';
  if (e.lifecycle.finishedAt === undefined) return 'running';
  // Deleted before it reported an end: how it ended is not known.
  if (e.lifecycle.exitCode === undefined) return 'unknown';
  // Stopped by its pod's deletion, or an executor the driver let go (dynamic
  // allocation, the app's end: a Spark executor exits 0 only when told to).
  if (e.lifecycle.reason === 'Deleted' || (e.role === 'executor' && e.lifecycle.exitCode === 0)) return 'removed';
  return e.lifecycle.exitCode === 0 ? 'succeeded' : 'failed';
}

// Spark's executor exit codes (ExecutorExitCode; the driver's log says e.g. "exit code 52(JVM OOM)")
// and the signals a container's 128+n exit code names.
const SPARK_EXITS: Record<number, string> = {
  50: 'uncaught exception',
  51: 'uncaught exception, and its handler failed',
  52: 'JVM out of memory (OutOfMemoryError)',
  53: 'could not create a local directory',
  56: 'lost its heartbeat to the driver',
};
const SIGNAL_EXITS: Record<number, string> = { 134: 'aborted (SIGABRT)', 137: 'killed (SIGKILL)', 139: 'segmentation fault (SIGSEGV)', 143: 'stopped (SIGTERM)' };

export function exitMeaning(appType: string, exitCode: number | undefined): string | undefined {
  if (exitCode === undefined) return undefined;
  return (appType === 'spark' ? SPARK_EXITS[exitCode] : undefined) ?? SIGNAL_EXITS[exitCode];
}

export function appsRoutes(app: FastifyInstance, ctx: RouteContext) {
  app.get<{ Querystring: Static<typeof AppsQuery> }>(
    '/api/v1/apps',
    { schema: { summary: 'Apps, newest first (by last activity)', tags: ['apps'], querystring: AppsQuery, response: { 200: AppsResponse, ...errorResponses } } },
    async (req) => {
      const q = req.query;
      const size = q.size ?? 50;
      const from = parseTime('from', q.from);
      const to = parseTime('to', q.to);
      const apps = await ctx.store.apps({
        size,
        ...(q.appType ? { appType: q.appType } : {}),
        ...(q.namespace ? { namespace: q.namespace } : {}),
        ...(q.prefix ? { prefix: q.prefix } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        ...(q.after ? { after: decodeCursor('after', q.after, 'apps') } : {}),
      });
      const last = apps.at(-1);
      return { apps: apps.map(({ sort: _s, ...a }) => a), ...(apps.length === size && last ? { next: encodeCursor('apps', last.sort) } : {}) };
    },
  );

  app.get<{ Params: { appId: string }; Querystring: Static<typeof AppQuery> }>(
    '/api/v1/apps/:appId',
    { schema: { summary: 'One app with its executors: role, pod, node, line times, line/WARN/ERROR counts, lifecycle', tags: ['apps'], params: AppParams, querystring: AppQuery, response: { 200: AppResponse, ...errorResponses } } },
    async (req) => {
      const view = await ctx.store.app({ appId: req.params.appId, ...(req.query.appType ? { appType: req.query.appType } : {}) });
      if (!view) throw new ApiError('APP_NOT_FOUND', `appId: no app ${JSON.stringify(req.params.appId)} is stored`, { param: 'appId' });
      return {
        ...view,
        executors: view.executors.map((e) => {
          const meaning = exitMeaning(view.appType, e.lifecycle?.exitCode);
          return { ...e, status: executorStatus(e), ...(e.lifecycle ? { lifecycle: { ...e.lifecycle, ...(meaning ? { exitMeaning: meaning } : {}) } } : {}) };
        }),
      };
    },
  );
}
