// Child processes measured from outside: every program under test (collector,
// kcat, rsyslogd, aggregator) runs under /usr/bin/time, which reports its
// CPU seconds and peak RSS at exit, and is sampled from /proc while it runs
// (RSS and CPU% over time, for the footprint figures).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLK_TCK = 100;
const PAGE = 4096;

export interface ExitUsage {
  code: number | null;
  /** The signal that ended the program, as time(1) saw it. */
  signal: number | null;
  cpuSeconds: number;
  peakRssBytes: number;
}

export interface Measured {
  /** The measured program's own pid (not /usr/bin/time's). */
  pid: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** CPU seconds (user + system) so far, from /proc; undefined once it exited. */
  cpuNow(): number | undefined;
  rssNow(): number | undefined;
  signal(sig: NodeJS.Signals): void;
  /** Resolves at exit with /usr/bin/time's figures; kills it (SIGKILL) when timeoutMs passes first. */
  exited(timeoutMs: number): Promise<ExitUsage>;
}

function statOf(pid: number): { cpu: number; rss: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK, rss: Number(f[21]) * PAGE };
  } catch {
    return undefined;
  }
}

function childOf(pid: number): number | undefined {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.length ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

export async function startMeasured(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, stdin: 'ignore' | 'pipe' = 'ignore'): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'sparklogs-bench-'));
  const timeFile = join(dir, 'time');
  const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, cmd, ...args], { env, stdio: [stdin, 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  // Bounded: a chatty program must not grow the harness's memory.
  child.stdout!.on('data', (b: Buffer) => { out = (out + b.toString()).slice(-1 << 20); });
  child.stderr!.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-1 << 20); });
  const exit = new Promise<{ code: number | null }>((res) => child.once('exit', (code) => res({ code })));
  let pid: number | undefined;
  for (let i = 0; i < 200 && pid === undefined; i++) {
    pid = childOf(child.pid!);
    if (pid === undefined) await new Promise((r) => setTimeout(r, 10));
  }
  if (pid === undefined) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${cmd} did not start: ${err.slice(0, 500)}`);
  }
  const target = pid;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(target, sig);
    } catch {
      // already gone
    }
  };
  return {
    pid: target,
    child,
    stdout: () => out,
    stderr: () => err,
    cpuNow: () => statOf(target)?.cpu,
    rssNow: () => statOf(target)?.rss,
    signal,
    async exited(timeoutMs) {
      const timer = setTimeout(() => signal('SIGKILL'), timeoutMs);
      const { code } = await exit;
      clearTimeout(timer);
      // time(1) prints "Command exited with non-zero status N" before the figures.
      const all = (await readFile(timeFile, 'utf8').catch(() => '')).trim();
      await rm(dir, { recursive: true, force: true });
      const [u, s, m] = (all.split('\n').pop() ?? '').split(' ').map(Number);
      const inner = /status (\d+)/.exec(all)?.[1];
      const bySignal = /signal (\d+)/.exec(all)?.[1];
      return { code: inner !== undefined ? Number(inner) : code, signal: bySignal !== undefined ? Number(bySignal) : null, cpuSeconds: (u ?? NaN) + (s ?? NaN), peakRssBytes: (m ?? NaN) * 1024 };
    },
  };
}

export interface Footprint {
  rssAvgBytes: number;
  rssMaxBytes: number;
  cpuPercent: number;
}

/** Samples a running process every intervalMs for durationMs: RSS and CPU% of one core. */
export async function sampleFootprint(p: Measured, durationMs: number, intervalMs = 1000): Promise<Footprint> {
  const rss: number[] = [];
  const cpu0 = p.cpuNow() ?? 0;
  const t0 = performance.now();
  while (performance.now() - t0 < durationMs) {
    await new Promise((r) => setTimeout(r, intervalMs));
    const r = p.rssNow();
    if (r !== undefined) rss.push(r);
  }
  const cpu1 = p.cpuNow() ?? cpu0;
  const secs = (performance.now() - t0) / 1000;
  return {
    rssAvgBytes: rss.length ? rss.reduce((a, b) => a + b, 0) / rss.length : NaN,
    rssMaxBytes: rss.length ? Math.max(...rss) : NaN,
    cpuPercent: ((cpu1 - cpu0) / secs) * 100,
  };
}

/** Polls `done` every intervalMs until it returns true; false when timeoutMs passed first. */
export async function waitFor(done: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return false;
}
