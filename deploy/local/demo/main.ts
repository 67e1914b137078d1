#!/usr/bin/env node
// `npm start`: the whole pipeline on this machine. The local stack is already
// up (deploy/local/start brought it); this starts the aggregator and the query
// API, runs a sample Spark application as local pods with collector sidecars,
// deletes every pod, shows that every line is still served, and keeps serving
// until Ctrl-C.
import { Command, InvalidArgumentError } from 'commander';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runApp, startServices, type Progress } from './run-demo.js';

function int(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

const program = new Command('sparklogs-demo')
  .description('Run a sample Spark application as local pods and serve its logs after the pods are gone.')
  .option('--executors <n>', 'executors the app uses over its life (one dies of OOM, one is removed idle)', int('--executors', 2, 64), 4)
  .option('--lines <n>', 'log events per executor', int('--lines', 10, 10_000_000), 400)
  .option('--duration <seconds>', 'how long the app runs', int('--duration', 5, 3600), 30)
  .option('--seed <n>', 'seed of the app (same seed, same app id and lines)', int('--seed', 0, 2 ** 31), Math.floor(Math.random() * 2 ** 31))
  .option('--app-name <name>', 'spark.app.name', 'etl-daily')
  .option('--namespace <ns>', 'the namespace the pods pretend to run in', 'jobs')
  .option('--host <host>', 'query API listen address', '127.0.0.1')
  .option('--port <port>', 'query API port', int('--port', 1, 65535), 8080)
  .option('--prefix <prefix>', 'topic and index prefix', 'sparklogs')
  .option('--rotate-bytes <n>', 'rotate a pod log file (by rename) at this size', int('--rotate-bytes', 4096, 2 ** 30), 64 * 1024)
  .option('--no-serve', 'exit once every line is served instead of serving until Ctrl-C');
program.parse();
const opt = program.opts<{ executors: number; lines: number; duration: number; seed: number; appName: string; namespace: string; host: string; port: number; prefix: string; rotateBytes: number; serve: boolean }>();

const kafkaBrokers = process.env.SPARKLOGS_KAFKA_BROKERS ?? '127.0.0.1:9092';
const esUrl = process.env.SPARKLOGS_ES_URL ?? 'http://127.0.0.1:9200';
const workDir = join(tmpdir(), `sparklogs-demo-${randomBytes(3).toString('hex')}`);
const tty = process.stdout.isTTY;
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
let lastLines = '';
let firstServedAt: number | undefined;
// deploy/local/start passes the time `npm start` began, so set-up (install, build, stack) is counted too.
const startedAt = Number(process.env.SPARKLOGS_START_MS) || t0;
let lastLinesAt = 0;

function show(p: Progress) {
  switch (p.kind) {
    case 'service':
      return say(`${p.name} started${p.url ? ` at ${p.url}` : ''}`);
    case 'pod-running':
      return say(`pod ${p.pod}: running (Spark container + collector sidecar)`);
    case 'pod-exited':
      return say(`pod ${p.pod}: Spark container exited with ${p.code}${p.code === 52 ? ' (java.lang.OutOfMemoryError)' : ''}; lifecycle recorded (${p.reason ?? 'no reason'})`);
    case 'pod-deleted':
      return say(`pod ${p.pod}: deleted (collector drained and exited ${p.collectorExit ?? 'after being killed'}; log directory removed)`);
    case 'lines': {
      if (p.served > 0 && firstServedAt === undefined) {
        firstServedAt = Date.now();
        say(`first line served by the query API, ${((firstServedAt - t0) / 1000).toFixed(1)} s after start-up (${((firstServedAt - startedAt) / 1000).toFixed(1)} s after npm start)`);
      }
      const text = `lines written ${p.written}, served by the query API ${p.served}`;
      if (tty) {
        process.stdout.write(`\r[${secs()}s] ${text}\x1b[K`);
        lastLines = text;
      } else if (Date.now() - lastLinesAt > 5000 && text !== lastLines) {
        say(text);
        lastLines = text;
        lastLinesAt = Date.now();
      }
    }
  }
}

function say(msg: string) {
  if (tty && lastLines) process.stdout.write('\r\x1b[K');
  process.stdout.write(`[${secs()}s] ${msg}\n`);
  if (tty && lastLines) process.stdout.write(`[${secs()}s] ${lastLines}\x1b[K`);
}

const options = {
  kafkaBrokers, esUrl, prefix: opt.prefix, apiHost: opt.host, apiPort: opt.port,
  executors: opt.executors, linesPerExecutor: opt.lines, durationMs: opt.duration * 1000, seed: opt.seed,
  appName: opt.appName, namespace: opt.namespace, workDir, rotateBytes: opt.rotateBytes, onProgress: show,
};

say(`work directory ${workDir} (service logs, pod directories while they live)`);
let services: Awaited<ReturnType<typeof startServices>> | undefined;
let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\n');
  say('stopping the aggregator and the query API');
  await services?.stop();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  services = await startServices(options);
  const result = await runApp(options, services);
  const total = [...result.written.values()].reduce((s, l) => s + l.length, 0);
  lastLines = '';
  process.stdout.write('\n');
  const appId = result.plan.appId;
  const oom = result.plan.executors.find((e) => e.fate === 'oom')!;
  say(`logs served: all ${result.written.size} pods are deleted and all ${total} lines they wrote are served.`);
  console.log(`
  Web page:      ${services.apiUrl}/#/apps/${appId}
  The dead executor's log (OutOfMemoryError): ${services.apiUrl}/#/apps/${appId}/logs?executor=${oom.executorId}

  From another terminal, in this directory:
    npx sparklogs apps
    npx sparklogs executors ${appId}
    npx sparklogs logs ${appId} -e ${oom.executorId}
    npx sparklogs logs ${appId} --level WARN
    npx sparklogs logs ${appId} -e driver --grep "Lost executor"
    npx sparklogs logs ${appId} -f     (ends once every pod has ended and the logs are quiet)
    npx sparklogs search OutOfMemoryError
`);
  if (!opt.serve) await stop(0);
  else say('serving until Ctrl-C (run `npm start` again in another terminal for another app)');
} catch (err) {
  process.stdout.write('\n');
  console.error(`sparklogs demo: ${(err as Error).message}`);
  await stop(1);
}
