// The null sink (SPARKLOGS_SINK=null, benchmarks only): the Elasticsearch
// sink's interface with the write discarded. Everything before the write still
// happens (fetch, decode, parse, build documents and their ids, summaries),
// every item answers "stored", and the pipeline commits the offsets as usual,
// so the aggregator's rate with this sink is its own ceiling: Kafka plus its
// own CPU, without the store. It never opens a connection to Elasticsearch.
import { AggregatorError } from '../errors.js';
import type { EsSink, ItemOutcome } from './elasticsearch.js';

const OK: ItemOutcome = Object.freeze({ status: 'ok' });

export function createNullSink(): EsSink {
  return {
    requestTimeoutMs: 0,
    async installTemplates() {
      // Nothing to install: there is no store.
    },

    async bulk(items) {
      return items.map(() => OK);
    },

    async writable() {
      return true;
    },

    async createIndex() {
      return false;
    },

    async lineIndices() {
      throw new AggregatorError('SINK_NULL', 'the null sink stores nothing, so it has no line indices (retention needs sink=elasticsearch)');
    },

    async deleteIndices() {
      throw new AggregatorError('SINK_NULL', 'the null sink stores nothing, so it has no line indices to delete (retention needs sink=elasticsearch)');
    },

    async close() {
      // Nothing to close.
    },
  };
}
