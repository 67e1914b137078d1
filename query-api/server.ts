#!/usr/bin/env node
// sparklogs-query-api: loads the config, builds the app and listens. Only
// this file binds a port; everything else is in app.ts (tests use inject).
import { ConfigError, loadConfig } from '../contract/config.js';
import { createLogger } from '../contract/log.js';
import { build } from './app.js';
import { ConfigSchema, ENV_PREFIX } from './config.js';

const SHUTDOWN_MS = 10_000;

async function main() {
  let loaded;
  try {
    loaded = loadConfig('sparklogs-query-api', ConfigSchema, { argv: process.argv.slice(2), env: process.env, envPrefix: ENV_PREFIX });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`sparklogs-query-api: ${err.message}\n`);
    process.exit(2);
  }
  if (loaded.help) {
    process.stdout.write(`${loaded.text}\n`);
    return;
  }
  const cfg = loaded.config;
  const log = createLogger('query-api', cfg.logLevel);
  const app = await build({ cfg, log });
  const address = await app.listen({ host: cfg.host, port: cfg.port });
  log.info({ event: 'listening', address, auth: cfg.apiTokens.length > 0, prefix: cfg.prefix }, `listening on ${address}`);

  const stop = (signal: string) => {
    log.info({ event: 'shutdown', signal }, 'shutting down');
    // Follow streams never end on their own: bound the wait for them.
    setTimeout(() => {
      log.warn({ event: 'shutdownDeadlineMissed' }, 'shutdown deadline missed, exiting');
      process.exit(1);
    }, SHUTDOWN_MS).unref();
    app.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`sparklogs-query-api: ${(err as Error).message}\n`);
  process.exit(1);
});
