// Every figure is printed beside the reference measured in the same run, the
// ratio, and the issue's target with met / not met. Nothing here fails a
// build: a missed target is a line in the report, not an exit code.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface Figure {
  part: string;
  name: string;
  value: number | null;
  unit: string;
  reference?: { name: string; value: number | null; unit?: string };
  /** value / reference.value, or a ratio the part computes itself. */
  ratio?: number | null;
  target?: { text: string; met: boolean | null };
  /** Why a figure is missing, or what qualifies it. */
  note?: string;
}

export interface Run {
  command: string;
  started: string;
  finishedMs: number;
  machine: { cpus: number; cpuModel: string; memGiB: number; kernel: string; node: string; load1AtStart: number };
  quick: boolean;
  figures: Figure[];
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

const met = (t: Figure['target']) => (t ? (t.met === null ? 'not measured' : t.met ? 'met' : 'NOT MET') : '');

export function printFigure(f: Figure, out: (s: string) => void): void {
  const parts = [`${f.part} / ${f.name}: ${fmt(f.value, f.unit)}`];
  if (f.reference) parts.push(`vs ${f.reference.name} ${fmt(f.reference.value, f.reference.unit ?? f.unit)}`);
  if (f.ratio !== undefined) parts.push(`ratio ${fmt(f.ratio)}`);
  if (f.target) parts.push(`target ${f.target.text}: ${met(f.target)}`);
  if (f.note) parts.push(`(${f.note})`);
  out(`bench: ${parts.join('  |  ')}\n`);
}

export function markdown(run: Run): string {
  const m = run.machine;
  const rows = run.figures.map((f) =>
    `| ${f.part} | ${f.name} | ${fmt(f.value, f.unit)} | ${f.reference ? `${f.reference.name}: ${fmt(f.reference.value, f.reference.unit ?? f.unit)}` : ''} | ${f.ratio !== undefined ? fmt(f.ratio) : ''} | ${f.target ? `${f.target.text}: **${met(f.target)}**` : ''} | ${f.note ?? ''} |`);
  return [
    `Command: \`${run.command}\`${run.quick ? ' (quick mode: a smoke test, figures are not meaningful)' : ''}`,
    `Started ${run.started}, took ${Math.round(run.finishedMs / 1000)} s.`,
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}; 1-min load at start ${m.load1AtStart.toFixed(2)}.`,
    '',
    '| part | figure | value | reference (same run) | ratio | target | note |',
    '|---|---|---|---|---|---|---|',
    ...rows,
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
