// Every figure is printed beside the reference measured in the same run, the
// ratio, and the issue's target with met / not met. Nothing here fails a
// build: a missed target is a line in the report, not an exit code.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rounds as summarise, type Rounds } from './stats.js';
import type { Status, TargetResult } from './targets.js';

export interface Figure {
  part: string;
  name: string;
  value: number | null;
  unit: string;
  reference?: { name: string; value: number | null; unit?: string };
  /** value / reference.value, or a ratio the part computes itself. */
  ratio?: number | null;
  target?: { text: string; met: boolean | null };
  /**
   * Set when the figure was measured in rounds (the measured thing and its
   * reference alternating): the ratio (or, without a reference, the value) is
   * the median of the rounds, and these are the rounds' values of it.
   */
  rounds?: Rounds & { of: 'ratio' | 'value' };
  /** Why a figure is missing, or what qualifies it. */
  note?: string;
}

export interface Run {
  command: string;
  started: string;
  finishedMs: number;
  machine: { cpus: number; cpuModel: string; memGiB: number; kernel: string; node: string; load1AtStart: number; load1AtEnd?: number };
  quick: boolean;
  /** Rounds of every measurement that alternates with its reference (--rounds). */
  rounds: number;
  figures: Figure[];
  targets: TargetResult[];
  notes: string[];
}

export function fmt(v: number | null | undefined, unit = ''): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  const abs = Math.abs(v);
  const s = Number.isInteger(v) && abs < 1000 ? String(v) : abs >= 1000 ? Math.round(v).toLocaleString('en-US') : abs >= 10 ? v.toFixed(1) : abs >= 0.1 ? v.toFixed(2) : v.toPrecision(2);
  return unit ? `${s} ${unit}` : s;
}

export function withRatio(f: Figure): Figure {
  if (f.ratio !== undefined || !f.reference) return f;
  const r = f.reference.value;
  return { ...f, ratio: f.value !== null && r !== null && r !== 0 ? f.value / r : null };
}

/**
 * A figure from rounds: value and reference are the medians of the rounds'
 * values, the ratio the median of the rounds' ratios (a round's ratio pairs
 * the measured thing with the reference measured next to it), with the spread.
 * Without a reference, the spread is the value's.
 */
export function fromRounds(f: Omit<Figure, 'value' | 'reference' | 'ratio' | 'rounds'>, values: (number | null)[], ref?: { name: string; values: (number | null)[]; unit?: string }): Figure {
  const v = summarise(values);
  if (!ref) return { ...f, value: v?.median ?? null, ...(v ? { rounds: { ...v, of: 'value' as const } } : {}) };
  const r = summarise(ref.values);
  const ratios = summarise(values.map((x, i) => {
    const y = ref.values[i];
    return x !== null && y !== null && y !== undefined && y !== 0 ? x / y : null;
  }));
  return {
    ...f, value: v?.median ?? null, reference: { name: ref.name, value: r?.median ?? null, ...(ref.unit ? { unit: ref.unit } : {}) },
    ratio: ratios?.median ?? null, ...(ratios ? { rounds: { ...ratios, of: 'ratio' as const } } : {}),
  };
}

/** "median of 3 rounds: 0.90..1.01, ±6%", and UNSTABLE past ±10%. */
export function spreadText(r: Figure['rounds']): string {
  if (!r) return '';
  return `median of ${r.values.length}${r.failed ? ` of ${r.values.length + r.failed}` : ''} rounds: ${fmt(r.min)}..${fmt(r.max)}, ±${(r.spread * 100).toFixed(0)}%${r.unstable ? ', UNSTABLE' : ''}${r.failed ? `, ${r.failed} failed` : ''}`;
}

const met = (t: Figure['target']) => (t ? (t.met === null ? 'not measured' : t.met ? 'met' : 'NOT MET') : '');

export function printFigure(f: Figure, out: (s: string) => void): void {
  const parts = [`${f.part} / ${f.name}: ${fmt(f.value, f.unit)}`];
  if (f.reference) parts.push(`vs ${f.reference.name} ${fmt(f.reference.value, f.reference.unit ?? f.unit)}`);
  if (f.ratio !== undefined) parts.push(`ratio ${fmt(f.ratio)}${f.rounds?.of === 'ratio' ? ` (${spreadText(f.rounds)})` : ''}`);
  if (f.rounds?.of === 'value') parts.push(spreadText(f.rounds));
  if (f.target) parts.push(`target ${f.target.text}: ${met(f.target)}`);
  if (f.note) parts.push(`(${f.note})`);
  out(`bench: ${parts.join('  |  ')}\n`);
}

export function markdown(run: Run): string {
  const m = run.machine;
  const rows = run.figures.map((f) =>
    `| ${f.part} | ${f.name} | ${fmt(f.value, f.unit)} | ${f.reference ? `${f.reference.name}: ${fmt(f.reference.value, f.reference.unit ?? f.unit)}` : ''} | ${f.ratio !== undefined ? fmt(f.ratio) : ''} | ${f.rounds ? `${f.rounds.unstable ? '**UNSTABLE** ' : ''}${f.rounds.of === 'value' ? 'value ' : ''}${fmt(f.rounds.min)}..${fmt(f.rounds.max)} (±${(f.rounds.spread * 100).toFixed(0)}%, ${f.rounds.values.length}${f.rounds.failed ? ` of ${f.rounds.values.length + f.rounds.failed}` : ''} rounds)` : ''} | ${f.target ? `${f.target.text}: **${met(f.target)}**` : ''} | ${f.note ?? ''} |`);
  return [
    `Command: \`${run.command}\`${run.quick ? ' (quick mode: a smoke test, figures are not meaningful)' : ''}`,
    `Started ${run.started}, took ${Math.round(run.finishedMs / 1000)} s.`,
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}; 1-min load at start ${m.load1AtStart.toFixed(2)}${m.load1AtEnd !== undefined ? `, at the end ${m.load1AtEnd.toFixed(2)}` : ''}.`,
    `Rounds: ${run.rounds} (a measurement and its reference alternate; a ratio is the median of the rounds' ratios, spread = the largest distance of a round from the median; past ±10% it is UNSTABLE).`,
    '',
    '| part | figure | value | reference (same run) | ratio | rounds (min..max, spread) | target | note |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    '### Targets',
    '',
    '| target | status | measured |',
    '|---|---|---|',
    ...run.targets.map((t) => `| ${t.target} | **${t.status}**${t.unstable ? ' (UNSTABLE)' : ''} | ${t.measured} |`),
    '',
    ...run.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

export async function writeRun(run: Run, dir: string): Promise<{ json: string; md: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'results.json');
  const md = join(dir, 'results.md');
  await writeFile(json, `${JSON.stringify(run, null, 2)}\n`);
  await writeFile(md, markdown(run));
  return { json, md };
}

const STATUS_WIDTH = 12;
export function printTargets(targets: TargetResult[], out: (s: string) => void): void {
  out('bench: --- targets\n');
  for (const t of targets) out(`bench: target: ${(t.status + (t.unstable ? ' (unstable)' : '')).padEnd(STATUS_WIDTH)} ${t.target}: ${t.measured}\n`);
  const n = (s: Status) => targets.filter((t) => t.status === s).length;
  out(`bench: targets: ${n('met')} met, ${n('missed')} missed, ${n('not measured')} not measured\n`);
}
