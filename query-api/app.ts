import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from '../contract/log.js';
import { names } from '../contract/names.js';
import { authHook } from './auth.js';
import type { Config } from './config.js';
import { ApiError } from './errors.js';
import { installMetrics } from './metrics.js';
import { appsRoutes } from './routes/apps.js';
import type { RouteContext } from './routes/context.js';
import { followRoutes } from './routes/follow.js';
import { logsRoutes } from './routes/logs.js';
import { overviewRoutes } from './routes/overview.js';
import { searchRoutes } from './routes/search.js';
import { systemRoutes } from './routes/system.js';
import { createStore, type Store } from './store/elasticsearch.js';

export interface BuildOptions {
  cfg: Readonly<Config>;
  log?: Logger;
  /** Tests may pass their own store; otherwise one is made from cfg. */
  store?: Store;
}

/** A validation failure as `param: what was wrong`. */
function validationError(err: FastifyError): ApiError {
  const v = err.validation?.[0];
  const params = (v?.params ?? {}) as { additionalProperty?: string; missingProperty?: string; allowedValues?: unknown[] };
  const where = err.validationContext ?? 'request';
  if (params.additionalProperty) {
    return new ApiError('BAD_PARAMETER', `${params.additionalProperty}: unknown ${where} parameter`, { param: params.additionalProperty });
  }
  const param = params.missingProperty ?? (v?.instancePath ?? '').replace(/^\//, '').split('/')[0] ?? '';
  const name = param || where;
  let what = v?.message ?? 'invalid';
  if (params.allowedValues) what = `must be one of ${params.allowedValues.map((x) => String(x)).join(', ')}`;
  // A choice of literals (level, mode, stream) fails once per literal: name them all.
  if (v?.keyword === 'const') {
    const allowed = (err.validation ?? []).filter((x) => x.keyword === 'const' && x.instancePath === v.instancePath).map((x) => String((x.params as { allowedValue?: unknown }).allowedValue));
    what = `must be one of ${allowed.join(', ')}`;
  }
  if (v?.keyword === 'pattern') what = 'has characters or a shape that is not allowed';
  return new ApiError('BAD_PARAMETER', `${name}: ${what}`, { param: name });
}

export async function build(opts: BuildOptions): Promise<FastifyInstance> {
  const { cfg } = opts;
  const app = Fastify({
    loggerInstance: opts.log as FastifyBaseLogger | undefined,
    // Unknown query keys are refused (400 naming them), not silently removed.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    // App ids may be up to 253 characters (ID_PART); longer ones get a 400 from the schema, not a router 404.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 300 },
  });
  const store = opts.store ?? createStore({ url: cfg.esUrl, names: names(cfg.prefix), requestTimeoutMs: cfg.esTimeoutMs });
  if (!opts.store) app.addHook('onClose', async () => store.close());
  const ctx: RouteContext = { store, cfg, streams: { active: 0 } };

  const RETRY_AFTER_S = 5;
  app.setErrorHandler((err: FastifyError, req, reply) => {
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if (err.validation) e = validationError(err);
    else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      // Fastify's own 4xx (malformed URL, bad content type, …): keep the status, name no internals.
      return reply.code(err.statusCode).send({ error: { code: 'BAD_REQUEST', message: err.message, retriable: false } });
    } else e = new ApiError('INTERNAL', 'internal error', { cause: err });
    if (e.statusCode >= 500) req.log.error({ event: 'requestFailed', code: e.code, err: e.cause ?? e, route: req.routeOptions.url }, e.message);
    // "Try again" said the standard way too, for clients and proxies that do not read the body.
    if (e.statusCode === 503 || e.statusCode === 429) reply.header('retry-after', String(RETRY_AFTER_S));
    return reply.code(e.statusCode).send(e.body());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new ApiError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]?.slice(0, 200)}`);
    return reply.code(404).send(e.body());
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'sparklogs query API', version: '1', description: 'Logs of Spark, Flink and Flume apps on Kubernetes, live or finished.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: cfg.apiTokens.length ? [{ bearer: [] }] : [],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.addHook('onRequest', authHook(cfg.apiTokens));
  const registry = installMetrics(app);
  systemRoutes(app, ctx, registry);
  appsRoutes(app, ctx);
  logsRoutes(app, ctx);
  followRoutes(app, ctx);
  searchRoutes(app, ctx);
  overviewRoutes(app, ctx);
  return app;
}
