// Where the tests find the real Kafka broker and Elasticsearch node that
// test/run.sh started (or that SPARKLOGS_TEST_* point to), and a unique name
// prefix per test so tests never see each other's topics and indices.
import { randomBytes } from 'node:crypto';
import { names, type Names } from '../../contract/names.js';

export function testStack(): { brokers: string[]; esUrl: string } {
  const brokers = process.env.SPARKLOGS_TEST_KAFKA_BROKERS;
  const esUrl = process.env.SPARKLOGS_TEST_ES_URL;
  if (!brokers || !esUrl) {
    throw new Error('SPARKLOGS_TEST_KAFKA_BROKERS and SPARKLOGS_TEST_ES_URL are not set: run the tests with `npm test`.');
  }
  return { brokers: brokers.split(','), esUrl };
}

export function uniqueNames(label: string): Names & { prefix: string } {
  const prefix = `t-${label}-${randomBytes(4).toString('hex')}`;
  return { ...names(prefix), prefix };
}
