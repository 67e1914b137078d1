// --profile: the Node programs under test run with --cpu-prof, and the
// harness prints where each one spent its CPU (self time by function), so a
// missed target comes with the profile that explains it.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Extra node arguments for a program under test: none unless profiling is on. */
export function profileArgs(): string[] {
  const dir = process.env.SPARKLOGS_BENCH_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** The functions with the most self time in one .cpuprofile, as "share of busy time, function (file:line)". */
export function topSelf(p: CpuProfile, n = 12): { share: number; where: string }[] {
  const byNode = new Map(p.nodes.map((x) => [x.id, x.callFrame]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const f = byNode.get(id);
    const dt = p.timeDeltas[i] ?? 0;
    // Idle time says nothing about where the work goes: shares are of busy samples.
    if (!f || f.functionName === '(idle)') return;
    const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|dist)\//, '$1/');
    const key = `${f.functionName || '(anonymous)'} (${file || 'native'}${f.url ? `:${f.lineNumber + 1}` : ''})`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([where, t]) => ({ share: t / total, where }));
}

export async function summariseProfiles(dir: string, out: (s: string) => void): Promise<string[]> {
  const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.cpuprofile')).sort();
  const lines: string[] = [];
  for (const f of files) {
    const p = JSON.parse(await readFile(join(dir, f), 'utf8')) as CpuProfile;
    lines.push(`profile ${f} (share of busy CPU time): ${topSelf(p).map((x) => `${(x.share * 100).toFixed(1)}% ${x.where}`).join('; ')}`);
  }
  for (const l of lines) out(`bench: ${l}\n`);
  return lines;
}
