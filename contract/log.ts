import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The services' own logs: JSON lines on stdout, written synchronously so that
 * the last words before an exit (a fatal config error, a missed shutdown
 * deadline) are never lost in a buffer.
 */
export function createLogger(name: string, level: string = process.env.SPARKLOGS_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { svc: name } }, pino.destination({ fd: 1, sync: true }));
}

/**
 * kafkajs's logCreator, routed into pino: its errors as warnings (the caller
 * decides what is an error), its warnings at debug. Levels are kafkajs's
 * numbers (1 error, 2 warn), so this file does not import kafkajs.
 */
export function kafkaLogBridge(log: Logger) {
  routeProcessWarnings(log);
  return () =>
    ({ level, log: entry }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, timestamp: _t, logger: _l, ...rest } = entry;
      if (level === 1) log.warn({ kafkajs: rest }, `kafkajs: ${message}`);
      else if (level === 2) log.debug({ kafkajs: rest }, `kafkajs: ${message}`);
    };
}

let warningsRouted = false;

/**
 * Node's process warnings as log lines (JSON on stdout like everything else)
 * instead of text on stderr. One is dropped: kafkajs 2.2 arms a timer with a
 * negative delay when nothing is throttled, which Node 24 and newer report as
 * a TimeoutNegativeWarning (the timer fires at once, as kafkajs means it to).
 */
export function routeProcessWarnings(log: Logger): void {
  if (warningsRouted) return;
  warningsRouted = true;
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.name === 'TimeoutNegativeWarning') return;
    log.warn({ warning: w.name, ...(w.code ? { code: w.code } : {}) }, w.message);
  });
}
