// The benchmark parts in the order a full run measures them: freshness runs
// at half the pipeline maximum that the parts before it measured.
import type { Ctx } from '../context.js';
import { aggregatorThroughput } from './aggregator.js';
import { collectorThroughput } from './collector.js';
import { collectorFootprint } from './footprint.js';
import { freshness } from './freshness.js';
import { queryLatency } from './query.js';
import { aggregatorScale } from './scale.js';
import { sizing } from './sizing.js';

export const PARTS: Record<string, (ctx: Ctx) => Promise<void>> = {
  collector: collectorThroughput,
  footprint: collectorFootprint,
  aggregator: aggregatorThroughput,
  scale: aggregatorScale,
  freshness,
  query: queryLatency,
  sizing,
  peers: (ctx) => import('./peers.js').then((m) => m.peerShippers(ctx)),
  'node-mode': (ctx) => import('./node-mode.js').then((m) => m.nodeMode(ctx)),
  layouts: (ctx) => import('./layouts.js').then((m) => m.layoutSpeed(ctx)),
};
