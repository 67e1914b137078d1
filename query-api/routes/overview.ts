import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { LEVELS } from '../../contract/documents.js';
import { encodeCursor } from '../cursor.js';
import { ApiError } from '../errors.js';
import { parseTime } from '../lines.js';
import {
  AppListQuery, AppListResponse, AppParams, AppQuery, ExceptionsQuery, ExceptionsResponse, ExecutorParams, HistogramQuery, HistogramResponse,
  SearchHistogramQuery, TimelineResponse, errorResponses,
} from '../schemas.js';
import { appStatus, LEAD_ROLES, NO_LEVEL, type AppSort, type AppStatus } from '../store/aggregations.js';
import type { Histogram } from '../store/elasticsearch.js';
import { executorStatus, exitMeaning } from './apps.js';
import { assertExists, lineFilter, type RouteContext } from './context.js';

// What the page shows above the lines: executor timeline, log volume by level,
// exceptions by class, and the apps list with status. All of it comes from
// aggregations, so an app of a million lines costs a few bucketed queries.

type Params = { appId: string; executorId?: string };

function histogramBody(h: Histogram) {
  const seen = new Set<string>();
  let total = 0;
  for (const b of h.buckets) {
    total += b.total;
    for (const l of Object.keys(b.levels)) seen.add(l);
  }
  const known: string[] = [NO_LEVEL, ...LEVELS];
  const levels = [...seen].sort((a, b) => (known.indexOf(a) + 1 || 99) - (known.indexOf(b) + 1 || 99) || a.localeCompare(b));
  return { ...(h.from !== undefined ? { from: h.from, to: h.to, interval: h.interval } : {}), levels, total, buckets: h.buckets };
}

export function overviewRoutes(app: FastifyInstance, ctx: RouteContext) {
  for (const [url, params, what] of [
    ['/api/v1/apps/:appId/histogram', AppParams, 'an app'],
    ['/api/v1/apps/:appId/executors/:executorId/histogram', ExecutorParams, 'one executor'],
  ] as const) {
    app.get<{ Params: Params; Querystring: Static<typeof HistogramQuery> }>(
      url,
      { schema: { summary: `Log volume of ${what} by level over time (date histogram; same filters as …/logs)`, tags: ['overview'], params, querystring: HistogramQuery, response: { 200: HistogramResponse, ...errorResponses } } },
      async (req) => {
        const h = await ctx.store.histogram(lineFilter(req.params, req.query), req.query.buckets ?? 120);
        if (h.buckets.length === 0) await assertExists(ctx.store, { ...req.params, appType: req.query.appType });
        return histogramBody(h);
      },
    );
  }

  app.get<{ Querystring: Static<typeof SearchHistogramQuery> }>(
    '/api/v1/search/histogram',
    { schema: { summary: 'Log volume of a search\'s hits by level over time, across apps', tags: ['overview'], querystring: SearchHistogramQuery, response: { 200: HistogramResponse, ...errorResponses } } },
    async (req) => histogramBody(await ctx.store.histogram(lineFilter({ appId: req.query.appId ?? '' }, req.query), req.query.buckets ?? 120)),
  );

  app.get<{ Params: Params; Querystring: Static<typeof ExceptionsQuery> }>(
    '/api/v1/apps/:appId/exceptions',
    { schema: { summary: 'Exceptions of an app grouped by class: count, executors, first event (with its cursor), last time', tags: ['overview'], params: AppParams, querystring: ExceptionsQuery, response: { 200: ExceptionsResponse, ...errorResponses } } },
    async (req) => {
      const q = req.query;
      const { groups, distinct } = await ctx.store.exceptions(lineFilter(req.params, q), q.size ?? 50);
      if (groups.length === 0) await assertExists(ctx.store, { ...req.params, appType: q.appType });
      return { distinct, exceptions: groups.map(({ first: { sort, ...first }, ...g }) => ({ ...g, first: { ...first, cursor: encodeCursor('time', sort) } })) };
    },
  );

  app.get<{ Params: Params; Querystring: Static<typeof AppQuery> }>(
    '/api/v1/apps/:appId/timeline',
    { schema: { summary: 'Executor timeline of an app: per executor its span (pod start/finish, else first/last line), line and error counts, how it ended', tags: ['overview'], params: AppParams, querystring: AppQuery, response: { 200: TimelineResponse, ...errorResponses } } },
    async (req) => {
      const view = await ctx.store.app({ appId: req.params.appId, ...(req.query.appType ? { appType: req.query.appType } : {}) });
      if (!view) throw new ApiError('APP_NOT_FOUND', `appId: no app ${JSON.stringify(req.params.appId)} is stored`, { param: 'appId' });
      let from = Infinity;
      let to = -Infinity;
      const executors = view.executors.map((e) => {
        const l = e.lifecycle;
        const start = l?.startedAt ?? e.firstLine;
        const end = l?.finishedAt ?? e.lastLine;
        if (start !== undefined) from = Math.min(from, start);
        if (end !== undefined) to = Math.max(to, end);
        const meaning = exitMeaning(view.appType, l?.exitCode);
        return {
          executorId: e.executorId, role: e.role, pod: e.pod, node: e.node, start, end, firstLine: e.firstLine, lastLine: e.lastLine, lines: e.lines, warn: e.warn, error: e.error,
          status: executorStatus(e), reason: l?.reason, exitCode: l?.exitCode, exitMeaning: meaning,
          oomKilled: l?.reason === 'OOMKilled' || (view.appType === 'spark' && l?.exitCode === 52),
        };
      });
      const lead = view.executors.find((e) => e.lifecycle && LEAD_ROLES.includes(e.role ?? ''))?.lifecycle;
      const running = view.executors.filter((e) => e.lifecycle && e.lifecycle.finishedAt === undefined && e.lifecycle.exitCode === undefined).length;
      const status = appStatus({ ...view, executors: executors.length, failedExecutors: 0, oomKilled: 0, running, ...(lead ? { lead } : {}) });
      const { executors: _e, ...summary } = view;
      return { ...summary, status, ...(from <= to ? { from, to } : {}), executors };
    },
  );

  app.get<{ Querystring: Static<typeof AppListQuery> }>(
    '/api/v1/app-list',
    { schema: { summary: 'Apps with status, start, duration, executors and error count; filters, sorting, offset paging', tags: ['overview'], querystring: AppListQuery, response: { 200: AppListResponse, ...errorResponses } } },
    async (req) => {
      const q = req.query;
      const from = parseTime('from', q.from);
      const to = parseTime('to', q.to);
      if (from !== undefined && to !== undefined && from > to) throw new ApiError('BAD_PARAMETER', 'from: must not be later than to', { param: 'from' });
      const list = await ctx.store.appList({
        ...(q.name ? { name: q.name } : {}),
        ...(q.namespace ? { namespace: q.namespace } : {}),
        ...(q.appType ? { appType: q.appType } : {}),
        ...(q.status ? { status: q.status.split(',') as AppStatus[] } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        sort: (q.sort ?? 'end') as AppSort,
        order: q.order ?? 'desc',
        offset: q.offset ?? 0,
        size: q.size ?? 50,
      });
      return {
        total: list.total,
        truncated: list.truncated,
        apps: list.apps.map((a) => ({
          appType: a.appType, appId: a.appId, appName: a.appName, namespace: a.namespace, firstSeen: a.firstSeen, lastSeen: a.lastSeen,
          status: a.status, start: a.firstSeen, end: a.lastSeen,
          duration: a.firstSeen !== undefined && a.lastSeen !== undefined ? a.lastSeen - a.firstSeen : undefined,
          executors: a.executors, failedExecutors: a.failedExecutors, oomKilled: a.oomKilled, errors: a.errors,
        })),
      };
    },
  );
}
