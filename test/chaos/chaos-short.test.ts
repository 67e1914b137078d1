// The short chaos variant: about two minutes of steady writing while every
// kind of fault is injected at least once; every line written must be served
// exactly once, in order, uncorrupted. `npm run chaos` is the long run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAULT_KINDS, formatReport, runChaos } from './run.js';

// Bounded generously: on a busy machine the private stack starts, restarts
// and catches up many times slower than on an idle one.
test('two minutes of faults of every kind: nothing missing, doubled, reordered or corrupted', { timeout: 30 * 60_000 }, async () => {
  const seed = Number(process.env.SPARKLOGS_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const workDir = join(tmpdir(), `sparklogs-chaos-short-${seed}`);
  const report = await runChaos({
    durationMs: 120_000, seed, pods: 3, rate: 60, rotateBytes: 256 * 1024, partitions: 4,
    esOutageMs: 15_000, faultsPerKind: 2, workDir, log: (m) => console.log(m),
  });
  console.log(formatReport(report));
  const t = report.totals;
  // Kept when something is wrong: every component's log is in it.
  if (t.missing + t.duplicated + t.outOfOrder + t.corrupted === 0) await rm(workDir, { recursive: true, force: true });
  else console.log(`logs kept in ${workDir}`);
  for (const k of FAULT_KINDS) assert.ok(report.faults[k] >= 1, `no ${k} fault was injected (seed ${seed})`);
  assert.ok(report.linesWritten > 10_000, `only ${report.linesWritten} lines written`);
  assert.deepEqual(report.totals, { missing: 0, duplicated: 0, outOfOrder: 0, corrupted: 0 }, `seed ${seed}`);
});
