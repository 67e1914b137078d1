import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyBaseLogger } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { backoffMs, DEFAULT_RETRY, sleep } from '../../contract/retry.js';
import { decodePositions, encodePositions, sequenceKey, type Positions, type SortValues } from '../cursor.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { FollowGate, type MissingLines } from '../follow-gate.js';
import { toApiLine } from '../lines.js';
import { AppParams, ExecutorParams, errorResponses, followQuery } from '../schemas.js';
import type { LineFilter, StoredLine } from '../store/elasticsearch.js';
import { assertExists, lineFilter, type RouteContext } from './context.js';

// Live follow as Server-Sent Events.
//
// Position: per sequence, the (fileSeq, off, n) of the last line sent. A
// sequence is an executor's log file(s), or one of its whole-stream captures
// (stdout, stderr), keyed `executorId` or `executorId/log` (../cursor.ts):
// an executor's captures are written at the same time as its log file, so
// one position per executor would hide the lines of one behind the other.
// An event-time cursor would skip lines (executors lag each other); a position
// per sequence does not, as long as it never passes a line that is not
// visible yet: the follow gate (../follow-gate.ts) sends a line only when it
// is the next of its file (consecutive `n`), and holds the sequence at a gap.
// The position is the SSE event id, so a browser's EventSource or any client
// sending it back (Last-Event-ID or ?cursor=) resumes exactly where it
// stopped. `from` (or `tail`) first sends what was stored up to the start
// positions, so history and follow meet without a gap or overlap.
//
// Polling: every followPollMs while lines come, every followIdlePollMs once
// none came for followActiveMs (pollDelay); the first line after a quiet spell
// waits at most followIdlePollMs.
//
// End of stream ("the app's pods are gone"): no new line for followQuietMs and
// every executor of the followed app (or the followed executor) has a
// lifecycle fact with finishedAt; or no new line for followIdleEndMs at all
// (pods deleted without lifecycle facts). The last event is `end`.

type Params = { appId: string; executorId?: string };
/** Sequences in a follow position: an executor's log file and its two captures, of 5,000 executors. */
const MAX_FOLLOW_SEQUENCES = 15_000;

function sse(event: string, data: unknown, id?: string): string {
  return `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The wait before the next poll: followPollMs while lines come (one arrived
 * within followActiveMs), then followIdlePollMs, so a reader sees a line soon
 * after the store makes it searchable while an idle follower costs one small
 * search per followIdlePollMs.
 */
export function pollDelay(cfg: Pick<Config, 'followPollMs' | 'followIdlePollMs' | 'followActiveMs'>, sinceLastLineMs: number): number {
  return sinceLastLineMs < cfg.followActiveMs ? cfg.followPollMs : Math.max(cfg.followPollMs, cfg.followIdlePollMs);
}

export function followRoutes(app: FastifyInstance, ctx: RouteContext) {
  const Query = followQuery(ctx.cfg.maxPageSize);
  const { cfg, store } = ctx;

  for (const [url, params, what] of [
    ['/api/v1/apps/:appId/follow', AppParams, 'an app (executors that start later included)'],
    ['/api/v1/apps/:appId/executors/:executorId/follow', ExecutorParams, 'one executor'],
  ] as const) {
    app.get<{ Params: Params; Querystring: Static<typeof Query> }>(
      url,
      {
        schema: {
          summary: `Follow ${what}: Server-Sent Events`,
          description:
            'Events: `lines` (data {lines:[…]}, id = follow cursor), `warning` (store unavailable, retrying), `end` (data {reason}). Comments (`: hb`) are heartbeats. Resume with Last-Event-ID or ?cursor=.',
          tags: ['logs'],
          params,
          querystring: Query,
          produces: ['text/event-stream'],
          response: { 200: { description: 'text/event-stream', type: 'string' }, ...errorResponses },
        },
      },
      async (req, reply) => {
        const q = req.query;
        const order = req.params.executorId ? 'file' : 'time';
        const base: LineFilter = lineFilter(req.params, q);
        const lastEventId = req.headers['last-event-id'];
        const resume = typeof lastEventId === 'string' && lastEventId !== '' ? ['Last-Event-ID', lastEventId] as const : q.cursor ? ['cursor', q.cursor] as const : undefined;
        // With a filter (level, text, time, stream), the matching lines' numbers have gaps of their own:
        // the gate then reads every line's position in the scope (a light search) to find how far each
        // sequence is complete, and the matching lines up to there are sent. A stream filter leaves
        // the other stream's capture out of the scope (none of its lines can match), not a CRI file's
        // lines of the other stream (they are numbered in one sequence with the rest). The follow
        // starts at the scope's newest lines, so a sequence with no matching line yet (a log file
        // under a stream filter, an executor without a WARN) is not read again from its start.
        const scope: LineFilter = {
          appId: base.appId, ...(base.appType ? { appType: base.appType } : {}), ...(base.executorId ? { executorId: base.executorId } : {}), ...(base.stream ? { sequencesOf: base.stream } : {}),
        };
        const filtered = base.minLevel !== undefined || base.text !== undefined || base.from !== undefined || base.to !== undefined || base.stream !== undefined;
        const pos: Positions = resume ? decodePositions(resume[0], resume[1], MAX_FOLLOW_SEQUENCES) : await store.positions(filtered ? scope : base);
        if (!resume && Object.keys(pos).length === 0) await assertExists(store, { ...req.params, appType: q.appType });
        if (ctx.streams.active >= cfg.maxStreams) throw new ApiError('TOO_MANY_STREAMS', `too many downloads and follow streams (${cfg.maxStreams}); try again shortly`);

        const out = new PassThrough();
        const closed = new AbortController();
        ctx.streams.active++;
        reply.raw.once('close', () => {
          closed.abort();
          ctx.streams.active--;
        });
        const log: FastifyBaseLogger = req.log.child({ appId: req.params.appId, executorId: req.params.executorId });
        void pump(out, closed.signal, log);
        reply.header('cache-control', 'no-cache').header('x-accel-buffering', 'no');
        return reply.type('text/event-stream; charset=utf-8').send(out);

        async function pump(stream: PassThrough, signal: AbortSignal, plog: FastifyBaseLogger) {
          let lastWrite = Date.now();
          let lastLine = Date.now();
          let failures = 0;
          const write = (s: string) => {
            lastWrite = Date.now();
            stream.write(s);
          };
          const gate = new FollowGate(pos, cfg.followGapMs);
          const send = (lines: StoredLine[]) => {
            // Each line's cursor is one of its route's order (the page links a line by it), whatever order the poll read in.
            for (const l of lines) l.sort = order === 'time' ? [l['@timestamp'], l.fileSeq, l.off, l.lid] : [l.log ?? null, l.fileSeq, l.off, l.lid];
            const sorted = order === 'time' ? [...lines].sort((a, b) => a['@timestamp'] - b['@timestamp']) : lines;
            write(sse('lines', { lines: sorted.map((l) => toApiLine(l, order)) }, encodePositions(gate.pos)));
            lastLine = Date.now();
          };
          write(`retry: ${Math.max(1000, cfg.followPollMs)}\n\n`);
          try {
            if (!resume && (q.tail ?? 0) > 0 && Object.keys(pos).length > 0) {
              send(await store.lines({ ...base, upTo: pos }, { order, size: q.tail ?? 0, tail: true }));
            } else if (!resume && base.from !== undefined && Object.keys(pos).length > 0) {
              // Everything since `from` up to the start positions, a page at a time, then the follow
              // goes on after those positions: no line is in both parts, none in neither.
              let after: SortValues | undefined;
              for (;;) {
                const page = await store.lines({ ...base, upTo: pos }, { order, size: cfg.maxPageSize, ...(after ? { after } : {}) });
                const done = page.length < cfg.maxPageSize;
                // Only the last history event carries the follow cursor: resuming earlier would skip the rest.
                write(sse('lines', { lines: page.map((l) => toApiLine(l, order)) }, done ? encodePositions(pos) : undefined));
                if (page.length > 0) lastLine = Date.now();
                if (done || signal.aborted) break;
                after = page.at(-1)!.sort;
              }
            }
            while (!signal.aborted) {
              let lines: StoredLine[];
              let ready: StoredLine[];
              let missing: MissingLines[];
              const held = gate.holding;
              try {
                const before = gate.holds();
                const from: Positions = { ...gate.pos };
                lines = await store.lines({ ...(filtered ? scope : base), after: from, ...(before ? { before } : {}) }, { order: 'file', size: cfg.maxPageSize, positionsOnly: filtered, byNumber: true });
                ({ send: ready, missing } = gate.take(lines));
                if (filtered && ready.length > 0) {
                  const upTo: Positions = {};
                  for (const l of ready) {
                    const k = sequenceKey(l);
                    upTo[k] = gate.pos[k]!;
                  }
                  // Should this search fail, the next poll starts again from where this one did.
                  ready = await store.lines({ ...base, after: from, upTo }, { order: 'file', size: cfg.maxPageSize, byNumber: true }).catch((err: unknown) => {
                    gate.pos = from;
                    throw err;
                  });
                }
                failures = 0;
              } catch (err) {
                if (!(err instanceof ApiError) || !err.retriable) throw err;
                plog.warn({ event: 'followStoreError', err: err.message }, 'follow: store unavailable, retrying');
                write(sse('warning', { code: err.code, message: err.message }));
                await sleep(backoffMs(DEFAULT_RETRY, failures++), signal);
                continue;
              }
              for (const g of missing) {
                const which = g.to >= g.from ? `lines ${g.from}-${g.to}` : 'lines';
                // Which sequence: the log file, or the stdout / stderr capture.
                const file = g.log ? `its ${g.log} (file #${g.fileSeq})` : `its file #${g.fileSeq}`;
                const message = `executor ${g.executorId}: ${which} of ${file} were not stored within ${cfg.followGapMs / 1000} s; going on without them (they may have been lost, e.g. a pod killed without grace)`;
                plog.warn({ event: 'followLinesMissing', ...g }, 'follow: a gap was given up on');
                write(sse('warning', { code: 'LINES_MISSING', message, sequence: sequenceKey(g), ...g }));
              }
              if (ready.length > 0) send(ready);
              // A full page, or a gap that just closed (the lines after it were not asked for): read on now.
              if (lines.length === cfg.maxPageSize || (held && !gate.holding)) continue;
              if (ready.length === 0 && !gate.holding) {
                // (Lines waiting behind a gap: the stream is not quiet, and ends only once the gap is closed or passed.)
                const quiet = Date.now() - lastLine;
                if (quiet >= cfg.followIdleEndMs) return end('idle');
                if (quiet >= cfg.followQuietMs && (await finished())) return end('finished');
              }
              if (Date.now() - lastWrite >= cfg.followHeartbeatMs) write(': hb\n\n');
              await sleep(gate.holding ? cfg.followPollMs : pollDelay(cfg, Date.now() - lastLine), signal);
            }
          } catch (err) {
            plog.error({ event: 'followFailed', err }, 'follow stream failed');
            const e = err instanceof ApiError ? err : new ApiError('INTERNAL', 'follow failed', { cause: err });
            write(sse('error', e.body().error));
          }
          stream.end();

          function end(reason: 'finished' | 'idle') {
            write(sse('end', { reason }, encodePositions(gate.pos)));
            stream.end();
          }
        }

        async function finished(): Promise<boolean> {
          // A store outage here only delays the end: the next quiet poll asks again.
          const view = await store.app({ appId: req.params.appId, ...(q.appType ? { appType: q.appType } : {}) }).catch(() => undefined);
          const execs = (view?.executors ?? []).filter((e) => !req.params.executorId || e.executorId === req.params.executorId);
          return execs.length > 0 && execs.every((e) => e.lifecycle?.finishedAt !== undefined);
        }
      },
    );
  }
}
