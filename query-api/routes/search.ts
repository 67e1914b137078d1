import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { decodeCursor, encodeCursor, encodeCursors } from '../cursor.js';
import { ApiError } from '../errors.js';
import { nativeJson, parseTime, toApiLines } from '../lines.js';
import { SearchQuery, SearchResponse, errorResponses } from '../schemas.js';
import type { RouteContext } from './context.js';

export function searchRoutes(app: FastifyInstance, ctx: RouteContext) {
  app.get<{ Querystring: Static<typeof SearchQuery> }>(
    '/api/v1/search',
    { schema: { summary: 'Full-text search across apps, newest first, with highlights', tags: ['search'], querystring: SearchQuery, response: { 200: SearchResponse, ...errorResponses } }, serializerCompiler: nativeJson },
    async (req) => {
      const q = req.query;
      const size = q.size ?? 100;
      const from = parseTime('from', q.from);
      const to = parseTime('to', q.to);
      if (from !== undefined && to !== undefined && from > to) throw new ApiError('BAD_PARAMETER', 'from: must not be later than to', { param: 'from' });
      const hits = await ctx.store.search(
        {
          appId: q.appId ?? '',
          text: q.q,
          lucene: q.mode === 'lucene',
          ...(q.appType ? { appType: q.appType } : {}),
          ...(q.level ? { minLevel: q.level } : {}),
          ...(q.stream ? { stream: q.stream } : {}),
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
        },
        size,
        q.after ? decodeCursor('after', q.after, 'search') : undefined,
      );
      const last = hits.at(-1);
      const lines = toApiLines(hits, 'time');
      const executorCursors = encodeCursors('file', hits.map((h) => [h.log ?? null, h.fileSeq, h.off, h.lid]));
      return {
        hits: hits.map((h, i) => ({ line: lines[i]!, executorCursor: executorCursors[i]!, highlights: h.highlights })),
        ...(hits.length === size && last ? { next: encodeCursor('search', last.sort) } : {}),
      };
    },
  );
}
