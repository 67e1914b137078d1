// npm run chaos [-- --minutes 10 --seed N --pods 6 --rate 150 --es-outage 60 --faults-per-kind 20]
// Prints the fault log as it goes and the report at the end; exits 1 when
// any line is missing, duplicated, out of order or corrupted. The report is
// also written to test-artifacts/chaos-report.json.
import { Command, InvalidArgumentError } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReport, runChaos } from './run.js';

const num = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
  return n;
};

const opt = new Command('chaos')
  .option('--minutes <n>', 'length of the run', num('--minutes', 0.5, 240), 10)
  .option('--seed <n>', 'seed of the fault schedule (printed; the same seed replays it)', num('--seed', 0, 2 ** 31), Math.floor(Math.random() * 2 ** 31))
  .option('--pods <n>', 'executor pods alive at once (plus a driver)', num('--pods', 1, 64), 6)
  .option('--rate <n>', 'lines per second per pod', num('--rate', 1, 100_000), 150)
  .option('--rotate-bytes <n>', 'rotate each pod log by rename at this size', num('--rotate-bytes', 4096, 2 ** 30), 1 << 20)
  .option('--partitions <n>', 'partitions of the lines topic', num('--partitions', 4, 64), 4)
  .option('--es-outage <seconds>', 'how long Elasticsearch stays stopped each time', num('--es-outage', 1, 600), 60)
  .option('--faults-per-kind <n>', 'faults of each kind to aim for', num('--faults-per-kind', 1, 1000), 20)
  .parse()
  .opts<{ minutes: number; seed: number; pods: number; rate: number; rotateBytes: number; partitions: number; esOutage: number; faultsPerKind: number }>();

const started = Date.now();
const report = await runChaos({
  durationMs: opt.minutes * 60_000, seed: opt.seed, pods: opt.pods, rate: opt.rate, rotateBytes: opt.rotateBytes,
  partitions: opt.partitions, esOutageMs: opt.esOutage * 1000, faultsPerKind: opt.faultsPerKind,
  workDir: join(tmpdir(), `sparklogs-chaos-${opt.seed}`),
  log: (m) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${m}`),
});
console.log(formatReport(report));
mkdirSync('test-artifacts', { recursive: true });
writeFileSync('test-artifacts/chaos-report.json', JSON.stringify(report, null, 2));
const t = report.totals;
process.exit(t.missing + t.duplicated + t.outOfOrder + t.corrupted === 0 ? 0 : 1);
