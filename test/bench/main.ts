// npm run bench [-- --quick] [-- --only collector,aggregator]
//
// Runs the benchmarks of issue 7 on the benchmark's own stack (or on the
// servers --kafka-brokers/--es-url name), prints every figure beside its
// reference, writes results.json and results.md, and exits 0 whatever the
// figures are: a benchmark reports, it does not fail a build on speed.
import { randomBytes } from 'node:crypto';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Ctx } from './context.js';
import { REPO } from './context.js';
import { ensureData, type DataSpec } from './generate.js';
import { PARTS } from './parts/index.js';
import { summariseProfiles } from './profile.js';
import { printFigure, printTargets, writeRun, type Figure, type Run } from './report.js';
import { startBenchStack } from './stack.js';
import { evaluateTargets } from './targets.js';

const USAGE = `usage: npm run bench -- [--quick] [--only ${Object.keys(PARTS).join(',')}] [--out DIR]
                      [--kafka-brokers HOST:PORT --es-url URL] [--partitions N] [--rounds N]
                      [--events N] [--query-apps N]

  --quick           a small data set: checks that the harness works, in seconds
  --only            run these parts only (comma-separated)
  --out             where results.json and results.md go (test-artifacts/bench)
  --kafka-brokers, --es-url
                    use these servers instead of starting the benchmark stack
                    (\`<cache>/bench-stack\`, Kafka :29092, Elasticsearch :29200)
  --partitions      partitions of every topic the benchmarks create (4)
  --rounds          rounds of every measurement that has a reference in the
                    same run: the two alternate, each ratio is the median of
                    the rounds with its spread (3; 2 with --quick)
  --events          events the aggregator and scale parts load (300,000 and
                    200,000; fewer for a machine too busy to finish a run)
  --query-apps      apps in the query store, 10 executors x 10,000 lines each
                    (100: the 10-million-line store; fewer: a smaller store
                    under its own prefix, bench-q<apps>a)
  --profile         run the collector, aggregator and query API with --cpu-prof
                    (profiles in <out>/profiles) and print their top functions`;

const FULL: DataSpec = { files: 4, eventsPerFile: 250_000, seed: 7 };
const QUICK: DataSpec = { files: 2, eventsPerFile: 2_000, seed: 7 };

class UsageError extends Error {}

async function main(): Promise<number> {
  const { values: a } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string', default: join(REPO, 'test-artifacts/bench') },
      'kafka-brokers': { type: 'string' },
      'es-url': { type: 'string' },
      partitions: { type: 'string', default: '4' },
      rounds: { type: 'string' },
      events: { type: 'string' },
      'query-apps': { type: 'string' },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (a.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const only = a.only ? a.only.split(',').map((s) => s.trim()).filter(Boolean) : Object.keys(PARTS);
  const unknown = only.filter((p) => !PARTS[p]);
  const partitions = Number(a.partitions);
  if (unknown.length || !Number.isInteger(partitions) || partitions < 1) {
    process.stderr.write(`bench: ${unknown.length ? `unknown part ${unknown.join(', ')}` : `--partitions: expected a whole number >= 1, got ${a.partitions}`}\n${USAGE}\n`);
    return 2;
  }
  const rounds = a.rounds === undefined ? (a.quick ? 2 : 3) : Number(a.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
    process.stderr.write(`bench: --rounds: expected a whole number from 1 to 20, got ${a.rounds}\n${USAGE}\n`);
    return 2;
  }
  const positive = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name}: expected a whole number >= 1, got ${v}`);
    return n;
  };
  let events: number | undefined;
  let queryApps: number | undefined;
  try {
    events = positive('events', a.events);
    queryApps = positive('query-apps', a['query-apps']);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (!!a['kafka-brokers'] !== !!a['es-url']) {
    process.stderr.write('bench: --kafka-brokers and --es-url go together\n');
    return 2;
  }

  const out = (s: string) => process.stdout.write(s);
  const started = Date.now();
  const run: Run = {
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    started: new Date(started).toISOString(),
    finishedMs: 0,
    machine: {
      cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(), node: process.version, load1AtStart: loadavg()[0] ?? NaN,
    },
    quick: a.quick,
    rounds,
    figures: [],
    targets: [],
    notes: [],
  };
  out(`bench: ${run.machine.cpus} CPUs (${run.machine.cpuModel}), ${(freemem() / 2 ** 30).toFixed(1)} GiB free, load ${run.machine.load1AtStart.toFixed(2)}; ${rounds} rounds\n`);

  const profiles = join(a.out!, 'profiles');
  // The programs under test read it through profile.ts.
  if (a.profile) process.env.SPARKLOGS_BENCH_PROFILE_DIR = profiles;

  const spec = a.quick ? QUICK : FULL;
  const data = await ensureData(spec);
  out(`bench: data set ${data.dir}: ${data.files.length} files, ${data.lines} lines, ${data.events} events, ${(data.bytes / 2 ** 20).toFixed(1)} MiB\n`);

  const stack = a['kafka-brokers'] ? undefined : await startBenchStack(out);
  const ctx: Ctx = {
    quick: a.quick,
    brokers: stack?.brokers ?? a['kafka-brokers']!.split(','),
    esUrl: stack?.esUrl ?? a['es-url']!,
    partitions,
    data,
    runPrefix: `bench-${randomBytes(3).toString('hex')}`,
    out,
    add: (f: Figure) => {
      run.figures.push(f);
      printFigure(f, out);
    },
    note: (s) => run.notes.push(s),
    rounds,
    ...(events ? { events } : {}),
    ...(queryApps ? { queryApps } : {}),
    shared: new Map(),
  };
  try {
    for (const name of only) {
      out(`bench: --- ${name}\n`);
      const before = run.figures.length;
      try {
        await PARTS[name]!(ctx);
      } catch (err) {
        // One broken part must not hide the others' figures.
        out(`bench: part ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
        ctx.note(`${name}: failed: ${(err as Error).message}`);
      }
      if (run.figures.length === before) ctx.add({ part: name, name: 'figures', value: null, unit: '', note: 'the part failed before measuring anything' });
    }
  } finally {
    await stack?.stop();
  }
  if (a.profile) run.notes.push(...(await summariseProfiles(profiles, out)));
  run.targets = evaluateTargets(ctx.shared);
  printTargets(run.targets, out);
  run.finishedMs = Date.now() - started;
  run.machine.load1AtEnd = loadavg()[0] ?? NaN;
  const files = await writeRun(run, a.out!);
  out(`bench: done in ${Math.round(run.finishedMs / 1000)} s; ${run.figures.length} figures in ${files.json} and ${files.md}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
