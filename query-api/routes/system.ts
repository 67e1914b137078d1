import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { SparkParams } from '../schemas.js';
import type { RouteContext } from './context.js';

// Health, metrics, the web page's static files and the Spark UI link. The page
// and the Spark redirect carry no data, so they are public even with auth on:
// a browser cannot attach a bearer token to a navigation; the page asks for
// the token and sends it on every API call.

const STATIC_DIR = new URL('../web/static/', import.meta.url);
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': JS,
  'lib.js': JS,
  'charts.js': JS,
  'style.css': CSS,
};
/** The charting library, served from its npm package as published (no bundling step). */
const VENDOR: Record<string, { file: string; type: string }> = {
  'uPlot.iife.min.js': { file: 'uplot/dist/uPlot.iife.min.js', type: JS },
  'uPlot.min.css': { file: 'uplot/dist/uPlot.min.css', type: CSS },
};

/** The static files sit next to the sources; the compiled build serves them from there too. */
function staticDir(): string {
  const here = fileURLToPath(STATIC_DIR);
  return here.replace('/dist/query-api/', '/query-api/');
}

export function systemRoutes(app: FastifyInstance, ctx: RouteContext, registry: Registry) {
  const pub = { public: true };
  app.get('/healthz', { config: pub, schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { config: pub, schema: { hide: true } }, async (_req, reply) => {
    if (await ctx.store.ping()) return { ok: true };
    return reply.code(503).send({ error: { code: 'STORE_UNAVAILABLE', message: 'Elasticsearch is unavailable', retriable: true } });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  const dir = staticDir();
  const require = createRequire(import.meta.url);
  const files = new Map([
    ...Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(`${dir}${name}`) }] as const),
    ...Object.entries(VENDOR).map(([name, { file, type }]) => [`vendor/${name}`, { type, body: readFileSync(require.resolve(file)) }] as const),
  ]);
  const serve = (name: string) => async (_req: unknown, reply: import('fastify').FastifyReply) => {
    const f = files.get(name)!;
    return reply.type(f.type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(f.body);
  };
  app.get('/', { config: pub, schema: { hide: true } }, serve('index.html'));
  for (const name of files.keys()) app.get(`/static/${name}`, { config: pub, schema: { hide: true } }, serve(name));

  const spark = {
    config: pub,
    schema: { summary: 'Spark UI executor log link: redirects to the web page', tags: ['spark'], params: SparkParams },
  };
  const redirect = async (req: { params: { appId: string; executorId: string } }, reply: import('fastify').FastifyReply) =>
    reply.redirect(`/#/apps/${encodeURIComponent(req.params.appId)}/logs?executor=${encodeURIComponent(req.params.executorId)}`, 302);
  app.get<{ Params: { appId: string; executorId: string } }>('/spark/:appId/:executorId', spark, redirect);
  app.get<{ Params: { appId: string; executorId: string } }>('/spark/:appId/:executorId/*', spark, redirect);
}
