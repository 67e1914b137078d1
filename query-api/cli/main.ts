#!/usr/bin/env node
// sparklogs: the query API from a terminal, with the habits of kubectl logs,
// stern and yarn logs. This file only wires commands to the client and the
// printer.
import { Command, InvalidArgumentError, Option } from 'commander';
import { LEVELS } from '../../contract/documents.js';
import { ID_PART } from '../../contract/identity.js';
import { parseTime } from '../lines.js';
import { CliError, createClient } from './client.js';
import { highlight, lineText, out, table } from './print.js';

type Line = { time: number; level?: string; executorId: string; stream?: string; log?: string; logger?: string; message: string; cursor: string };
type Executor = { executorId: string; role?: string; pod?: string; node?: string; lines: number; warn: number; error: number; firstLine?: number; lastLine?: number; status: string; lifecycle?: { reason?: string; exitCode?: number; exitMeaning?: string } };

const program = new Command('sparklogs')
  .description('Logs of Spark, Flink and Flume apps on Kubernetes, live or long after their pods are gone.')
  .addOption(new Option('--server <url>', 'query API address').env('SPARKLOGS_URL').default('http://127.0.0.1:8080'))
  .addHelpText('after', '\nEnvironment:\n  SPARKLOGS_URL    query API address (same as --server)\n  SPARKLOGS_TOKEN  bearer token, when the API requires one\n  NO_COLOR         no colors even on a terminal')
  .showHelpAfterError()
  .exitOverride();

const client = () => createClient(program.opts<{ server: string }>().server, process.env.SPARKLOGS_TOKEN || undefined);
const positive = (name: string) => (v: string) => {
  if (!/^\d{1,6}$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`${name} must be a whole number from 1 to 999999`);
  return Number(v);
};
const id = (name: string) => (v: string) => {
  if (!ID_PART.test(v)) throw new InvalidArgumentError(`${name} has characters that are not allowed`);
  return v;
};
const level = new Option('--level <level>', 'minimum level').choices([...LEVELS]).argParser((v) => v.toUpperCase());
const stream = () => new Option('--stream <stream>', "only the container's stdout or stderr: an executor's whole-stream capture (sidecar mode) or its CRI lines of that stream (node mode); log file lines are left out").choices(['stdout', 'stderr']);
/** "failed (Error, exit 52: JVM out of memory (OutOfMemoryError))" */
const status = ({ status: s, lifecycle: l }: Executor) => {
  if (!l?.reason) return s;
  return `${s} (${l.reason}${l.exitCode !== undefined ? `, exit ${l.exitCode}${l.exitMeaning ? `: ${l.exitMeaning}` : ''}` : ''})`;
};
const time = (ms: number | undefined) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-');

program
  .command('apps')
  .description('apps, newest first')
  .option('--type <appType>', 'spark, flink, flume, …')
  .option('--namespace <ns>', 'Kubernetes namespace')
  .option('--prefix <text>', 'app id or name prefix')
  .option('--limit <n>', 'how many', positive('--limit'), 50)
  .option('--json', 'one JSON object per app')
  .action(async (o: { type?: string; namespace?: string; prefix?: string; limit: number; json?: boolean }) => {
    const r = await client().get<{ apps: { appType: string; appId: string; appName?: string; namespace?: string; firstSeen?: number; lastSeen?: number }[] }>('api/v1/apps', { appType: o.type, namespace: o.namespace, prefix: o.prefix, size: Math.min(o.limit, 1000) });
    if (o.json) return out(r.apps.map((a) => JSON.stringify(a) + '\n').join(''));
    await out(table([['APP ID', 'TYPE', 'NAME', 'NAMESPACE', 'FIRST SEEN', 'LAST SEEN'], ...r.apps.map((a) => [a.appId, a.appType, a.appName ?? '-', a.namespace ?? '-', time(a.firstSeen), time(a.lastSeen)])]));
  });

program
  .command('executors')
  .description("an app's driver and executors: pod, node, counts, status")
  .argument('<appId>', 'application id', id('appId'))
  .option('--json', 'the app as JSON')
  .action(async (appId: string, o: { json?: boolean }) => {
    const app = await client().get<{ executors: Executor[] }>(`api/v1/apps/${appId}`);
    if (o.json) return out(JSON.stringify(app) + '\n');
    const rows = app.executors.map((e) => [e.executorId, e.role ?? '-', e.pod ?? '-', e.node ?? '-', String(e.lines), String(e.warn), String(e.error), time(e.firstLine), time(e.lastLine), status(e)]);
    await out(table([['EXECUTOR', 'ROLE', 'POD', 'NODE', 'LINES', 'WARN', 'ERROR', 'FIRST LINE', 'LAST LINE', 'STATUS'], ...rows]));
  });

program
  .command('logs')
  .description('log lines of an app (all executors, by time) or of one executor (-e)')
  .argument('<appId>', 'application id', id('appId'))
  .option('-e, --executor <id>', 'one executor: driver, 1, 2, …', id('--executor'))
  .option('-f, --follow', 'keep printing new lines, also of executors that start later; ends when the app is gone')
  .option('--since <time>', 'lines from this time: 30s, 15m, 1h, 2d or ISO 8601')
  .option('--until <time>', 'lines up to this time (same forms)')
  .addOption(level)
  .addOption(stream())
  .option('--grep <text>', 'lines containing all these words')
  .option('--tail <n>', 'only the last N lines (with -f default 100, or all since --since)', positive('--tail'))
  .option('--json', 'one JSON object per line')
  .addHelpText(
    'after',
    `
Lines of an executor's whole-stream captures (its container's stdout and stderr, beside its log
file) are marked: [3/stdout] among all executors, [stdout] with -e. With -e, lines come in the
order the executor wrote them: its log file, then its stderr, then its stdout; without -e, all
lines by time.`,
  )
  .action(async (appId: string, o: { executor?: string; follow?: boolean; since?: string; until?: string; level?: string; stream?: string; grep?: string; tail?: number; json?: boolean }) => {
    if (o.follow && o.until) throw new CliError('--until cannot be combined with -f: a follow has no end (use --since to start earlier, or drop -f)', 2);
    const c = client();
    const base = o.executor ? `api/v1/apps/${appId}/executors/${o.executor}` : `api/v1/apps/${appId}`;
    const filters = { level: o.level, stream: o.stream, q: o.grep };
    const print = (lines: Line[]) => out(lines.map((l) => (o.json ? JSON.stringify(l) + '\n' : lineText(l, !o.executor))).join(''));
    if (o.follow) {
      // --since: every line since then, then new ones; the server joins the two without a gap or a repeat.
      // A duration is fixed to a time now, so a reconnect later keeps the same start.
      const from = o.since && /^\d+[smhd]$/.test(o.since) ? String(parseTime('--since', o.since)) : o.since;
      const start = from !== undefined ? { from, ...(o.tail ? { tail: Math.min(o.tail, 10_000) } : {}) } : { tail: Math.min(o.tail ?? 100, 10_000) };
      await c.follow(`${base}/follow`, { ...filters, ...start }, async (ev) => {
        if (ev.event === 'lines') await print((JSON.parse(ev.data) as { lines: Line[] }).lines);
        else if (ev.event === 'warning') process.stderr.write(`sparklogs: ${(JSON.parse(ev.data) as { message: string }).message}\n`);
      });
      return;
    }
    const query = { ...filters, from: o.since, to: o.until };
    if (o.tail) {
      // More than one page: walk back with `before`, then print in order.
      const pages: Line[][] = [];
      let want = o.tail;
      let before: string | undefined;
      while (want > 0) {
        const r = await c.get<{ lines: Line[]; prev?: string }>(`${base}/logs`, before ? { ...query, size: Math.min(want, 5000), before } : { ...query, tail: Math.min(want, 5000) });
        if (r.lines.length === 0) break;
        pages.unshift(r.lines);
        want -= r.lines.length;
        before = r.prev;
      }
      for (const p of pages) await print(p);
      return;
    }
    let after: string | undefined;
    for (;;) {
      const r = await c.get<{ lines: Line[]; next?: string }>(`${base}/logs`, { ...query, size: 2000, after });
      await print(r.lines);
      if (r.lines.length < 2000) return;
      after = r.next;
    }
  });

program
  .command('search')
  .description('search every app for text (words, all required), newest first')
  .argument('<text...>', 'words to find')
  .option('--app <appId>', 'only this app', id('--app'))
  .addOption(level)
  .addOption(stream())
  .option('--limit <n>', 'how many hits', positive('--limit'), 100)
  .option('--json', 'one JSON object per hit')
  .action(async (words: string[], o: { app?: string; level?: string; stream?: string; limit: number; json?: boolean }) => {
    const r = await client().get<{ hits: { line: Line & { appId: string }; highlights: string[] }[] }>('api/v1/search', { q: words.join(' '), appId: o.app, level: o.level, stream: o.stream, size: Math.min(o.limit, 1000) });
    if (o.json) return out(r.hits.map((h) => JSON.stringify(h) + '\n').join(''));
    for (const h of r.hits) {
      const text = h.highlights.length ? h.highlights.map(highlight).join(' … ') : h.line.message.split('\n')[0];
      await out(`${h.line.appId} ${lineText({ ...h.line, message: text ?? '' }, true)}`);
    }
  });

process.on('SIGINT', () => process.exit(130));

program.parseAsync(process.argv).catch((err: Error & { code?: string; exitCode?: number }) => {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') process.exit(0);
  if (err.code?.startsWith('commander.')) process.exit(2);
  process.stderr.write(`sparklogs: ${err.message.split('\n')[0]}\n`);
  process.exit(err instanceof CliError ? err.exitCode : 1);
});
