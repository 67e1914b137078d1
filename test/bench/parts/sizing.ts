// Issue 7, part 6 (sizing): 10,000 concurrent executors logging 100 lines/s
// each, sized from this run's measured figures (per-aggregator throughput,
// stored bytes per line). The arithmetic is printed with the numbers.
import type { Ctx } from '../context.js';

const EXECUTORS = 10_000;
const LINES_PER_EXECUTOR = 100;
/** Elasticsearch's own guidance: primary shards of 10-50 GB; 40 GB leaves room within a day. */
const SHARD_BYTES = 40e9;
const REPLICAS = 1;
/** Headroom: an aggregator runs at most at this share of its measured maximum (catching up after an outage). */
const UTILISATION = 0.5;

export async function sizing(ctx: Ctx): Promise<void> {
  const rate = EXECUTORS * LINES_PER_EXECUTOR;
  const perAgg = ctx.shared.get('aggregatorLinesPerSec') ?? ctx.shared.get('pipelineLinesPerSec');
  const stored = ctx.shared.get('storedBytesPerLine');
  const raw = ctx.shared.get('rawBytesPerLine') ?? ctx.data.bytes / ctx.data.events;
  const part = 'sizing';
  const lines: string[] = [`${EXECUTORS} executors x ${LINES_PER_EXECUTOR} lines/s = ${rate.toLocaleString('en-US')} lines/s`];
  lines.push(`Kafka in: ${rate.toLocaleString('en-US')} x ${raw.toFixed(0)} B = ${((rate * raw) / 1e6).toFixed(0)} MB/s of log text before compression`);
  ctx.add({ part, name: 'lines/s to ship', value: rate, unit: 'lines/s' });
  const cpuPerLine = ctx.shared.get('aggregatorCpuSecondsPerLine');
  let cores: number | undefined;
  if (cpuPerLine) {
    // On a small machine the store, not the aggregator, bounds one instance's rate: CPU per line sizes the aggregator itself.
    cores = Math.ceil((rate * cpuPerLine) / UTILISATION);
    lines.push(`aggregator cores: ${rate.toLocaleString('en-US')} x ${(cpuPerLine * 1e6).toFixed(1)} µs CPU per line measured / ${UTILISATION} headroom = ${cores} one-core replicas`);
    ctx.add({ part, name: 'aggregator one-core replicas (from CPU per line)', value: cores, unit: '', note: `${(cpuPerLine * 1e6).toFixed(1)} µs of CPU per line measured in this run` });
  }
  if (perAgg) {
    const replicas = Math.ceil(rate / (perAgg * UTILISATION));
    lines.push(`aggregator replicas: ${rate.toLocaleString('en-US')} / (${Math.round(perAgg).toLocaleString('en-US')} lines/s measured per instance x ${UTILISATION} headroom) = ${replicas}`);
    ctx.add({ part, name: 'aggregator replicas (from measured rate)', value: replicas, unit: '', note: `${Math.round(perAgg)} lines/s per instance measured in this run, run at ${UTILISATION * 100}%` });
  } else {
    ctx.add({ part, name: 'aggregator replicas (from measured rate)', value: null, unit: '', note: 'needs the aggregator or scale part in the same run' });
  }
  const basis = cores ?? (perAgg ? Math.ceil(rate / (perAgg * UTILISATION)) : undefined);
  if (basis) {
    const partitions = Math.ceil((basis * 2) / 12) * 12;
    lines.push(`partitions: 2 x ${basis} replicas (room to scale out), rounded up to a multiple of 12 = ${partitions}`);
    ctx.add({ part, name: 'partitions', value: partitions, unit: '' });
  }
  if (stored) {
    const perDay = rate * 86_400 * stored;
    const shards = Math.ceil(perDay / SHARD_BYTES);
    lines.push(`storage per day: ${rate.toLocaleString('en-US')} x 86,400 s x ${stored.toFixed(0)} B stored per line = ${(perDay / 1e12).toFixed(1)} TB primary, x ${1 + REPLICAS} with ${REPLICAS} replica = ${((perDay * (1 + REPLICAS)) / 1e12).toFixed(1)} TB`);
    lines.push(`primary shards per daily index: ${(perDay / 1e9).toFixed(0)} GB / 40 GB = ${shards}`);
    ctx.add({ part, name: 'storage per day (primary)', value: perDay / 1e12, unit: 'TB', note: `${stored.toFixed(0)} B per stored line measured in this run` });
    ctx.add({ part, name: 'primary shards per daily index', value: shards, unit: '' });
  } else {
    ctx.add({ part, name: 'storage per day (primary)', value: null, unit: 'TB', note: 'needs the aggregator part in the same run' });
  }
  for (const l of lines) ctx.out(`bench:   ${l}\n`);
  ctx.note(`sizing: ${lines.join('; ')}`);
}
