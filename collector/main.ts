#!/usr/bin/env node
// sparklogs-collector. First relaunches itself with its runtime settings
// (runtime.ts: one place for the image, the pod templates and the benchmarks),
// then holds V8's young generation small (young-gen.ts) before the rest is
// loaded: a graph of ES modules is read and compiled in full before any of it
// runs, which alone grew the young generation to 8 MiB. Both are loaded before
// anything else, and runtime.ts imports nothing.
//
// Two modes: `sidecar` (the default, one per pod: start.ts) and `node` (one
// per node reading the kubelet's pod log files: node/start.ts), chosen by
// --mode or SPARKLOGS_MODE / SPARKLOGS_COLLECTOR_MODE.
import { relaunch } from './runtime.js';

try {
  relaunch();
} catch (err) {
  process.stderr.write(`sparklogs-collector: ${(err as Error).message}\n`);
  process.exit(2);
}
await import('./young-gen.js');

const argv = process.argv;
let mode = process.env.SPARKLOGS_MODE || process.env.SPARKLOGS_COLLECTOR_MODE || undefined;
const at = argv.findIndex((a, i) => i >= 2 && (a === '--mode' || a.startsWith('--mode=')));
if (at !== -1) mode = argv[at]!.startsWith('--mode=') ? argv[at]!.slice('--mode='.length) : argv[at + 1];
if (mode === 'node') {
  await import('./node/start.js');
} else if (mode === undefined || mode === 'sidecar') {
  // The sidecar's options do not include the mode.
  if (at !== -1) argv.splice(at, argv[at]!.startsWith('--mode=') ? 1 : 2);
  await import('./start.js');
} else {
  process.stderr.write(`sparklogs-collector: mode (--mode, SPARKLOGS_MODE or SPARKLOGS_COLLECTOR_MODE): expected "sidecar" or "node", got ${JSON.stringify(mode ?? '')}\n`);
  process.exit(2);
}
