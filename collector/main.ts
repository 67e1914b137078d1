#!/usr/bin/env node
// sparklogs-collector. Holds V8's young generation small (young-gen.ts) before
// the rest is loaded: a graph of ES modules is read and compiled in full
// before any of it runs, which alone grew the young generation to 8 MiB.
import './young-gen.js';

await import('./start.js');
