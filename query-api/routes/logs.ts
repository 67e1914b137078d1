import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { decodeCursor } from '../cursor.js';
import { ApiError } from '../errors.js';
import { formatStored, formatText, nativeJson, toApiLines } from '../lines.js';
import { AppParams, DownloadQuery, ExecutorParams, LogsResponse, errorResponses, logsQuery } from '../schemas.js';
import { assertExists, lineFilter, type RouteContext } from './context.js';

// Pages of lines (cursor paging both ways, tail) and whole downloads, for an
// app (interleaved by event time) or one executor (in the order it wrote).

type Params = { appId: string; executorId?: string };

export function logsRoutes(app: FastifyInstance, ctx: RouteContext) {
  const Query = logsQuery(ctx.cfg.maxPageSize);

  for (const [url, params, what] of [
    ['/api/v1/apps/:appId/logs', AppParams, 'all executors of an app, interleaved by event time'],
    ['/api/v1/apps/:appId/executors/:executorId/logs', ExecutorParams, 'one executor, in the order it wrote them'],
  ] as const) {
    app.get<{ Params: Params; Querystring: Static<typeof Query> }>(
      url,
      { schema: { summary: `Log lines of ${what}`, tags: ['logs'], params, querystring: Query, response: { 200: LogsResponse, ...errorResponses } }, serializerCompiler: nativeJson },
      async (req, reply) => {
        const q = req.query;
        const order = req.params.executorId ? 'file' : 'time';
        if (q.tail !== undefined && (q.after || q.before)) throw new ApiError('BAD_PARAMETER', 'tail: cannot be combined with after or before', { param: 'tail' });
        if (q.after && q.before) throw new ApiError('BAD_PARAMETER', 'before: cannot be combined with after', { param: 'before' });
        const f = lineFilter(req.params, q);
        const after = q.after ? decodeCursor('after', q.after, order) : undefined;
        const before = q.before ? decodeCursor('before', q.before, order) : undefined;
        const lines = await ctx.store.lines(f, { order, size: q.tail ?? q.size ?? 500, ...(after ? { after } : {}), ...(before ? { before } : {}), tail: q.tail !== undefined });
        if (lines.length === 0 && !after && !before) await assertExists(ctx.store, { ...req.params, appType: q.appType });

        const out = toApiLines(lines, order);
        // An empty page forward keeps the caller's cursor: polling it later yields the newer lines.
        const next = out.at(-1)?.cursor ?? q.after;
        const prev = out[0]?.cursor ?? q.before;
        const format = q.format ?? 'json';
        if (format === 'json') return { lines: out, ...(next ? { next } : {}), ...(prev ? { prev } : {}) };
        if (next) reply.header('sparklogs-next', next);
        if (prev) reply.header('sparklogs-prev', prev);
        if (format === 'ndjson') return reply.type('application/x-ndjson; charset=utf-8').send(out.map((l) => JSON.stringify(l) + '\n').join(''));
        return reply.type('text/plain; charset=utf-8').send(out.map((l) => formatText(l, !req.params.executorId)).join(''));
      },
    );
  }

  for (const [url, params, what] of [
    ['/api/v1/apps/:appId/download', AppParams, 'a whole app'],
    ['/api/v1/apps/:appId/executors/:executorId/download', ExecutorParams, 'one executor'],
  ] as const) {
    app.get<{ Params: Params; Querystring: Static<typeof DownloadQuery> }>(
      url,
      {
        schema: {
          summary: `Plain-text download of ${what}, streamed`,
          tags: ['logs'],
          params,
          querystring: DownloadQuery,
          produces: ['text/plain'],
          response: { 200: { description: 'Plain text, one event per line (stack traces keep their own lines).', type: 'string' }, ...errorResponses },
        },
      },
      async (req, reply) => {
        const order = req.params.executorId ? 'file' : 'time';
        const f = lineFilter(req.params, req.query);
        const first = await ctx.store.lines(f, { order, size: ctx.cfg.downloadPageSize });
        if (first.length === 0) await assertExists(ctx.store, { ...req.params, appType: req.query.appType });
        if (ctx.streams.active >= ctx.cfg.maxStreams) throw new ApiError('TOO_MANY_STREAMS', `too many downloads and follow streams (${ctx.cfg.maxStreams}); try again shortly`);
        ctx.streams.active++;
        reply.raw.once('close', () => ctx.streams.active--);
        const store = ctx.store;
        const size = ctx.cfg.downloadPageSize;
        const withExecutor = !req.params.executorId;
        // At most two pages in memory: while the client takes one, the next
        // is already being fetched (Readable.from pulls on demand, so a slow
        // client holds the fetching back, and Elasticsearch never waits for
        // the socket nor the socket for Elasticsearch).
        async function* pages() {
          let page = first;
          for (;;) {
            const last = page.at(-1);
            const next = page.length < size || !last ? undefined : store.lines(f, { order, size, after: last.sort });
            // A failed prefetch surfaces when it is awaited, never as an unhandled rejection before.
            next?.catch(() => undefined);
            let text = '';
            for (const l of page) text += formatStored(l, withExecutor);
            yield text;
            if (!next) return;
            page = await next;
          }
        }
        const name = `${req.params.appId}${req.params.executorId ? `-${req.params.executorId}` : ''}.log`;
        reply.header('content-disposition', `attachment; filename="${name}"`);
        reply.header('x-content-type-options', 'nosniff');
        return reply.type('text/plain; charset=utf-8').send(Readable.from(pages(), { objectMode: false, highWaterMark: 1 }));
      },
    );
  }
}
